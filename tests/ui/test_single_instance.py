"""A second start hands its bundle to the running window (single instance per user)."""

from __future__ import annotations

import uuid
from pathlib import Path

from integrationsplaner.cli import build_parser
from integrationsplaner.ui.single_instance import InstanceServer, hand_over


def test_second_start_hands_bundle_to_running_window(qtbot, tmp_path: Path) -> None:
    name = f"ip-test-{uuid.uuid4().hex[:8]}"
    server = InstanceServer(name=name)
    assert server.listening
    bundle = tmp_path / "vg-landstuhl.ipbundle"
    with qtbot.waitSignal(server.activate, timeout=3000), \
            qtbot.waitSignal(server.open_bundle, timeout=3000) as received:
        assert hand_over(bundle, name=name)
    assert received.args == [bundle.resolve()]
    server.close()


def test_activation_without_bundle(qtbot) -> None:
    name = f"ip-test-{uuid.uuid4().hex[:8]}"
    server = InstanceServer(name=name)
    with qtbot.waitSignal(server.activate, timeout=3000):
        assert hand_over(None, name=name)
    server.close()


def test_no_running_window_means_start_normally() -> None:
    assert not hand_over(None, name=f"ip-test-{uuid.uuid4().hex[:8]}")


def test_open_option_is_parsed() -> None:
    args = build_parser().parse_args(["--db", "a.sqlite", "--open", "b.ipbundle"])
    assert args.command is None and args.open_bundle == Path("b.ipbundle")
    # a desktop entry "Exec=integrationsplaner --open %f" started without a file
    assert build_parser().parse_args(["--open"]).open_bundle is None
