"""The graph: sharing, repeated arguments, numbering, networkx view, purity."""

import networkx as nx
import pytest

import symdiff as sd


def test_identical_subexpressions_share_one_node():
    graph = sd.trace("sin(x)*sin(x) + sin(x)")
    assert [str(n) for n in graph.nodes] == ["w1 = x", "w2 = sin(w1)", "w3 = w2·w2", "w4 = w3 + w2"]


def test_repeated_arguments_live_in_args_not_edges():
    dag = sd.trace("x*x").to_networkx()
    assert dag.nodes["w2"]["args"] == ("w1", "w1")
    assert dag.number_of_edges() == 1  # the DiGraph merges the two edges; args keep both


def test_to_networkx_is_a_dag_with_attributes():
    graph = sd.trace("x1*x2 + sin(x1)")
    dag = graph.to_networkx()
    assert isinstance(dag, nx.DiGraph) and nx.is_directed_acyclic_graph(dag)
    assert list(dag.nodes) == ["w1", "w2", "w3", "w4", "w5"]
    assert dag.nodes["w4"]["op"] == "sin" and dag.nodes["w1"]["var"] == "x1"
    assert dag.nodes["w5"]["output"] and not dag.nodes["w4"]["output"]
    assert sorted(dag.edges) == [
        ("w1", "w3"),
        ("w1", "w4"),
        ("w2", "w3"),
        ("w3", "w5"),
        ("w4", "w5"),
    ]
    assert list(nx.topological_sort(dag))[-1] == "w5"


def test_str_is_the_wengert_list():
    assert str(sd.trace("x1*x2 + sin(x1)")).splitlines() == [
        "w1 = x1",
        "w2 = x2",
        "w3 = w1·w2",
        "w4 = sin(w1)",
        "w5 = w3 + w4",
        "z = w5",
    ]


def test_negative_constants_are_parenthesised():
    assert str(sd.trace("x*(-2)").nodes[-1]) == "w2 = w1·(-2)"


def test_nodes_are_frozen_and_passes_do_not_write_to_them():
    graph = sd.trace("x1*x2 + sin(x1)")
    before = [(n.name, n.op, n.args, n.var) for n in graph.nodes]
    with pytest.raises(AttributeError):
        graph.nodes[0].op = "sin"
    a = sd.derive(graph, at={"x1": 2, "x2": 3})
    b = sd.derive(graph, at={"x1": -1, "x2": 0.5}, seed=3)
    assert [(n.name, n.op, n.args, n.var) for n in graph.nodes] == before
    assert a.gradient_values["x2"] == 2.0 and b.gradient_values["x2"] == -3.0


def test_prefix_moves_away_from_clashing_variable_names():
    graph = sd.trace("w1 + w2")
    assert graph.prefix == "v" and [n.name for n in graph.nodes] == ["v1", "v2", "v3"]
    assert sd.grad("w1*w2").at(w1=2, w2=3) == {"w1": 3.0, "w2": 2.0}
    assert sd.trace("x + y", prefix="v").nodes[0].name == "v1"
    with pytest.raises(sd.VariableError):
        sd.trace("v1 + x", prefix="v")


def test_constant_expression_has_no_variables():
    graph = sd.trace("2*3")
    assert graph.variables == () and sd.evaluate(graph) == {"w1": 6.0}
    assert dict(sd.grad("2*3", wrt=["x"])) == {"x": 0}
