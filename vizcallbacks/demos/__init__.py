"""The demos: data and models to try the package on, used by `vizcallbacks train`.

- `catalog.py`: `DEMOS`, what each `train --dataset NAME` trains and shows;
- `datasets.py`: `load_dataset`, MNIST and Fashion-MNIST found on disk or downloaded;
- `mnist_files.py`: their IDX and npz files, read and checked;
- `synthetic.py`: the notes' time series and a small sentiment task, made on the spot;
- `models.py`: the models the demos train.
"""
