"""Where sessions and experiment runs point at each other: the run and dataset a
filtered sessions list shows, and the run and datapoint a session was made for.

`evaluate()` tags each session it starts with `metadata.run_id`, `dataset_id` and
`datapoint_id`; a tag naming a run that no longer exists (or another project's) links
nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from hivekeeper.domain.evaluation.datasets import is_offline
from hivekeeper.store import Store


@dataclass(frozen=True, slots=True)
class RunLink:
    """A run (with its name), and the datapoint and dataset of one of its sessions."""

    run_id: str
    label: str
    datapoint_id: str | None = None
    dataset_id: str | None = None
    dataset_name: str | None = None

    @property
    def stored_dataset(self) -> bool:
        """Whether the dataset is a stored one (with a page), not local rows."""
        return self.dataset_id is not None and not is_offline(self.dataset_id)


@dataclass(frozen=True, slots=True)
class ListFilter:
    """The run and the dataset a sessions list is filtered by (empty ids: none), with
    their names when they are stored (None otherwise: nothing to link to)."""

    run_id: str
    run_label: str | None
    dataset_id: str
    dataset_name: str | None


def session_run(store: Store, project_id: str, session_id: str) -> RunLink | None:
    """The run the session belongs to, from the session's own tags; None for a session
    of no run, or of a run not stored in this project. Two indexed reads."""
    row = store.get_event(project_id, session_id)
    metadata = row["metadata"] if row is not None else {}
    run_id = metadata.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        return None
    run = store.get_run(project_id, run_id)
    if run is None:
        return None
    datapoint, dataset = metadata.get("datapoint_id"), metadata.get("dataset_id")
    dataset_id = dataset if isinstance(dataset, str) and dataset else run.dataset_id
    return RunLink(
        run_id=run.run_id,
        label=run.name or run.run_id,
        datapoint_id=datapoint if isinstance(datapoint, str) and datapoint else None,
        dataset_id=dataset_id,
        dataset_name=_dataset_name(store, project_id, dataset_id),
    )


def list_filter(store: Store, project_id: str, run_id: str, dataset_id: str) -> ListFilter:
    """How a sessions list filtered by `run_id` and/or `dataset_id` names them."""
    run = store.get_run(project_id, run_id) if run_id else None
    label = (run.name or run.run_id) if run is not None else None
    name = _dataset_name(store, project_id, dataset_id or None)
    return ListFilter(run_id, label, dataset_id, name)


def _dataset_name(store: Store, project_id: str, dataset_id: str | None) -> str | None:
    if dataset_id is None or is_offline(dataset_id):
        return None
    found = store.list_datasets(project_id, dataset_id=dataset_id)
    return found[0].name if found else None
