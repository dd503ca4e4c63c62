"""The settings of windowed scoring, in a module without imports.

``fser predict`` builds its help text from them before anything heavy is imported;
:mod:`fser_utils.scoring.windows` uses and re-exports them.
"""

#: window length [s] for long recordings
DEFAULT_WINDOW = 3.0
#: step between window starts [s]
DEFAULT_HOP = 1.5
#: files longer than this [s] are scored in windows unless asked otherwise
LONG_RECORDING = 15.0
#: the shortest recording scored [s]; the shortest training clip lasts 0.87 s, and a
#: few frames stretched over a 64-column image carry no emotion to judge
MIN_SECONDS = 0.5
#: windows more than this [dB] below the loudest one do not count for the file's label
VOICED_DB = 35.0
#: longest window accepted [s]: memory holds a few windows, so it must stay bounded
MAX_WINDOW = 60.0
