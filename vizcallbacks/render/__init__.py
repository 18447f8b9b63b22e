"""Draw a grid of layer activations as one RGB frame: the generalized `plot_conv`.

Each kind of thing drawn lives in its own small place, found in a table:

- `cells.py`: one drawer per kind of layer output (`CELL_DRAWERS`: feature maps,
  sequences, vectors);
- `inputs.py`: one drawer per kind of input (`INPUT_DRAWERS`: images, token ids, windows
  of a series, feature vectors), and `prepare_images`;
- `several_inputs.py`: several inputs side by side in the input column;
- `readers.py`: one reader per kind of model output (`OUTPUT_READERS`: classes, one
  sigmoid unit, regression, image, segmentation), the words beside each row, and
  `heads.py`, one reader per head of a model with several outputs;
- `output_cells.py`: one column per picture output (`OUTPUT_COLUMNS`: an image, a class
  map), the prediction beside its target;
- `grid.py`: `GridRenderer`, the layout that composes them;
- `palette.py` (the fixed 224 colours), `normalize.py` (values to colours),
  `text.py` (fonts, headers, the text layer), `stamp.py`, `options.py`.
"""

from .cells import CELL_DRAWERS
from .grid import GridRenderer
from .inputs import INPUT_DRAWERS, check_vocabulary, prepare_images
from .normalize import NORMALIZATIONS
from .style import FrameStyle
from .options import CELL_PX_RANGE, DEFAULT_CHANNELS, check_channels
from .palette import CMAP_LEVELS, make_palette
from .readers import OUTPUT_READERS
from .stamp import Stamp
from .text import fit_text, font

__all__ = ["FrameStyle", "GridRenderer", "Stamp", "prepare_images", "check_channels", "make_palette", "font", "fit_text",
           "NORMALIZATIONS", "DEFAULT_CHANNELS", "CMAP_LEVELS", "CELL_PX_RANGE", "CELL_DRAWERS",
           "INPUT_DRAWERS", "OUTPUT_READERS", "check_vocabulary"]
