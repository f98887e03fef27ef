"""A stand-in for Colab's `google.colab` package, used only by `make test-colab`.

Colab's own package is not on PyPI. The chapters use one thing from it, `drive.mount`; this
stand-in makes the mount point's `MyDrive` folder instead of signing in to Google Drive.
There is deliberately no `google/__init__.py`: `google` stays a namespace package, so
`google.protobuf` still imports.
"""
