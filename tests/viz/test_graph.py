"""plot_graph with Graphviz's dot and with the matplotlib drawing that replaces it."""

import shutil

import matplotlib.image as mpimg
import numpy as np
import pytest

import minimixer as mm
from minimixer import viz


def _small_expression():
    a = mm.tensor(np.ones((2, 3)), requires_grad=True)
    b = mm.tensor(np.full((2, 3), 2.0), requires_grad=True)
    a.name, b.name = "a", "b"
    return ((a * b) + a).sum()


def test_graph_layers_put_inputs_left_of_outputs():
    nodes, edges = mm.graph(_small_expression())
    assert sum(shape == "ellipse" for shape, _ in nodes.values()) == 3  # mul, add, sum
    assert any(label.startswith("a\n") for _, label in nodes.values())
    layers = viz.graph_layers(nodes, edges)
    column = {node: i for i, layer in enumerate(layers) for node in layer}
    assert sorted(column) == sorted(nodes)
    assert all(column[source] < column[target] for source, target in edges)


def test_plot_graph_without_dot(monkeypatch, tmp_path, assert_png_not_blank):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    fig = viz.plot_graph(_small_expression(), save=tmp_path / "graph.png")
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert {"Mul", "Add", "Sum"} <= {label.title() for label in labels}
    assert len(fig.axes[0].patches) + len(fig.axes[0].texts) >= 8
    assert_png_not_blank(tmp_path / "graph.png")


def test_plot_graph_shows_what_dot_renders(monkeypatch, tmp_path, assert_png_not_blank):
    """The dot path, with a stand-in program that returns a known picture."""
    picture = np.zeros((120, 200, 3), dtype=np.float32)
    picture[30:90, 40:160] = [0.2, 0.5, 0.9]
    png = tmp_path / "rendered.png"
    mpimg.imsave(png, picture)
    calls = []

    def fake_run(command, input, **options):
        calls.append((command, input.decode()))
        return viz.subprocess.CompletedProcess(command, 0, stdout=png.read_bytes(), stderr=b"")

    monkeypatch.setattr(viz.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(viz.subprocess, "run", fake_run)
    fig = viz.plot_graph(_small_expression(), save=tmp_path / "graph.png")
    assert calls[0][0][:2] == ["/usr/bin/dot", "-Tpng"]
    assert calls[0][1].startswith("digraph")
    shown = np.asarray(fig.axes[0].images[0].get_array())
    np.testing.assert_allclose(shown[60, 100, :3], [0.2, 0.5, 0.9], atol=0.01)
    assert_png_not_blank(tmp_path / "graph.png")


def test_plot_graph_falls_back_when_dot_fails(monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(viz.subprocess, "run",
                        lambda command, input, **options: viz.subprocess.CompletedProcess(
                            command, 1, stdout=b"", stderr=b"syntax error"))
    fig = viz.plot_graph(_small_expression())
    assert not fig.axes[0].images and fig.axes[0].texts


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_plot_graph_with_real_dot(tmp_path, assert_png_not_blank):
    fig = viz.plot_graph(_small_expression(), save=tmp_path / "graph.png")
    assert fig.axes[0].images
    assert_png_not_blank(tmp_path / "graph.png")
