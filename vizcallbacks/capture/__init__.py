"""Where a frame is captured: the only work done on the training thread.

- `schedule.py`: when a frame is taken, and the figures that go with it;
- `probe.py`: `ActivationProbe`, one forward pass that returns the chosen layers' outputs;
- `layers.py`: which layers a frame shows (`LayerView`, the default choice of columns);
- `outputs.py`: what each of the model's outputs is (classes, binary, regression, image,
  segmentation), its heads, and class probabilities;
- `passes.py`: the pass itself, set up once per Keras backend;
- `distribute.py`: which process of a distributed fit draws.
"""
