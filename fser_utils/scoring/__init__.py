"""Stage 5, scoring new audio with a trained model.

- :mod:`~fser_utils.scoring.recognizer`: ``Recognizer``, the public API (the shipped model
  or a run)
- :mod:`~fser_utils.scoring.predict`: scoring clips with a run's own model and settings
- :mod:`~fser_utils.scoring.windows`: long recordings, window by window
- :mod:`~fser_utils.scoring.export`: a run's network as ONNX, checked against Keras
- :mod:`~fser_utils.scoring.calibration`: temperature scaling and calibration error
- :mod:`~fser_utils.scoring.record`: the microphone widget of chapter 7
"""
