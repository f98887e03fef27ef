"""Helpers for the Keras 3 computer-vision course.

Modules, each with one job: `env` (where we run, mode, folders), `registry` and `download`
(the data hub), `datasets` (loaders), `plots`, and more as chapters need them. Importing the
package does not import TensorFlow.
"""

__version__ = "0.1.0"
