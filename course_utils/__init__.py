"""Helpers for the Keras 3 computer-vision course.

Two floors: the chapters call these modules, never the other way round. Each module has one job:

- `env`: where the course runs, in which mode, and its folders (`setup()` in every chapter).
- `extras`: installs what a Python with TensorFlow lacks (files-only packages, pydensecrf2,
  MediaPipe's person model).
- `atomic`: the one way to write files and folders: whole, or not at all.
- `registry` and `download`: the data hub: every file the course downloads, and every download.
- `assets`: files that ship inside pip packages, read by path.
- `datasets`: one loader per data set, the generated stand-ins (`synthetic`) and the
  class-folder checker (`image_folders`).
- `pretrained`: pretrained networks and how to read what they say.
- `deeplab`: the DeepLabV3+ chapter 10 builds and trains, which chapter 11 loads or trains.
- `viz`, `pipelines`, `training`, `plots`, `gradcheck`, `metrics`, `crf`, `boxes`,
  `detection_plots`: the tools the chapters teach with.

Importing the package does not import TensorFlow: modules import it inside their functions.
"""

__version__ = "0.1.0"
