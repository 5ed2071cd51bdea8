"""Part II: ReLU networks on DAG architectures, their invariant sets and singularities.

>>> from ncurv_lib import dag
>>> G = dag.DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
>>> G.hidden, dag.balances(G, [1.0, 1.0, 1.0]).tolist()
((2,), [1.0])
"""
from .graph import DAG, check_theta, from_sequential, mlp_dag, random_dag
from .incidence import balance_drift, balances, check_balances, in_out_matrices, incidence_matrix
from .connectivity import (
    Violation, balance_violations, cone_test, in_bottlenecks, invariant_set_connected,
    invariant_set_connected_lp, is_stable, out_bottlenecks, pure_ancestors, pure_descendants,
    worst_stable_set,
)

__all__ = [
    "DAG", "check_theta", "from_sequential", "mlp_dag", "random_dag",
    "balance_drift", "balances", "check_balances", "in_out_matrices", "incidence_matrix",
    "Violation", "balance_violations", "cone_test", "in_bottlenecks", "invariant_set_connected",
    "invariant_set_connected_lp", "is_stable", "out_bottlenecks", "pure_ancestors",
    "pure_descendants", "worst_stable_set",
]
from .singular import (  # noqa: E402
    glued_components, jacobian, jacobian_rank, neuron_edge_mask, nuclear_norm, numerical_rank,
    pruning_scores, singular_values,
)

__all__ += [
    "glued_components", "jacobian", "jacobian_rank", "neuron_edge_mask", "nuclear_norm",
    "numerical_rank", "pruning_scores", "singular_values",
]
from .nets import DagNet, init_theta, pruning_curve, regulariser, run_losses, train_dag  # noqa: E402

__all__ += ["DagNet", "init_theta", "pruning_curve", "regulariser", "run_losses", "train_dag"]
from .experiments import (  # noqa: E402
    breast_cancer_split, disconnected_neurons, mnist_binary, null_model_disconnected, positive_init,
    set_output_weights, sign_flip_threshold, toy_bottleneck_dag, uniform_square,
)

__all__ += [
    "breast_cancer_split", "disconnected_neurons", "mnist_binary", "null_model_disconnected",
    "positive_init", "set_output_weights", "sign_flip_threshold", "toy_bottleneck_dag", "uniform_square",
]
