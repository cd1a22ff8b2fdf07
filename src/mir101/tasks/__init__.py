"""Tasks: targets, training, evaluation with the field's metrics, reports and prediction."""

from mir101.tasks.base import TASKS, Task
from mir101.tasks.multipitch import MultiPitch
from mir101.tasks.runner import evaluate_run, load_run, train

__all__ = ["TASKS", "Task", "MultiPitch", "train", "evaluate_run", "load_run"]
