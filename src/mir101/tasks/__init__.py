"""Tasks: one module (or package) per task on one typed contract (:class:`Task`), one runner.

Importing this package registers the tasks in :data:`TASKS`.
"""

from mir101.tasks.base import TASKS, Task
from mir101.tasks.codec import Codec  # noqa: F401  (registers 'codec')
from mir101.tasks.cover import Cover  # noqa: F401  (registers 'cover')
from mir101.tasks.generation import Generation  # noqa: F401  (registers 'generation')
from mir101.tasks.multipitch import MultiPitch
from mir101.tasks.result import EvalResult
from mir101.tasks.runner import RunResult, evaluate_run, load_run, train
from mir101.tasks.separation import Separation  # noqa: F401  (registers 'separation')
from mir101.tasks.ssl import SelfSupervised  # noqa: F401  (registers 'ssl')
from mir101.tasks.tagging import Tagging  # noqa: F401  (registers 'tagging' and 'chords')

__all__ = ["TASKS", "Task", "EvalResult", "MultiPitch", "RunResult", "train", "evaluate_run", "load_run"]
