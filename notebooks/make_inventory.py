"""Writes notebooks/inventory.ipynb (run: python notebooks/make_inventory.py)."""

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell(
        "# Inventory networks with HDPO\n\n"
        "A warehouse supplies four stores with lost sales. We train a GNN policy by HDPO "
        "(pathwise gradients through the differentiable simulator), compare it with a "
        "base-stock policy fitted by the same gradient method and with the newsvendor "
        "heuristic, and plot the learning curve and inventory trajectories.\n\n"
        "Set `FAST = False` for a longer, more accurate run."
    ),
    nbf.v4.new_code_cell(
        "import matplotlib\n"
        "import numpy as np\n"
        "import torch\n\n"
        "from orlearn.problems.inventory import (DemandModel, HDPOConfig, InventoryNetwork,\n"
        "                                       Simulator, evaluate, make_policy, train)\n\n"
        "FAST = True\n"
        "torch.manual_seed(0)"
    ),
    nbf.v4.new_markdown_cell(
        "## A small network\n\nNode 0 is the warehouse (supplied by an external supplier, "
        "lead time 3); nodes 1-4 are stores (lead time 2) with correlated Normal demand."
    ),
    nbf.v4.new_code_cell(
        "network = InventoryNetwork(\n"
        "    name='warehouse_4_stores',\n"
        "    parent=np.array([-1, 0, 0, 0, 0]),\n"
        "    lead_time=np.array([3, 2, 2, 2, 2]),\n"
        "    holding=np.array([0.3, 1.0, 1.0, 1.2, 0.8]),\n"
        "    underage=np.array([0.0, 9.0, 9.0, 11.0, 7.0]),\n"
        "    demand=DemandModel('normal', mean=np.array([4.0, 5.0, 6.0, 3.0]),\n"
        "                       std=np.array([1.5, 2.0, 2.0, 1.0]), correlation=0.5),\n"
        "    lost_sales=True,\n"
        "    node_names=('warehouse', 'store A', 'store B', 'store C', 'store D'),\n"
        ")\n"
        "import tempfile, pathlib\n"
        "path = network.save(pathlib.Path(tempfile.mkdtemp()) / 'warehouse_4_stores.json')\n"
        "assert InventoryNetwork.load(path).to_dict() == network.to_dict()  # file round trip\n"
        "network.n_nodes, network.n_stores"
    ),
    nbf.v4.new_markdown_cell("## Train a GNN and a base-stock policy by HDPO"),
    nbf.v4.new_code_cell(
        "epochs = 8 if FAST else 150\n"
        "config = HDPOConfig(epochs=epochs, train_paths=512 if FAST else 8192,\n"
        "                    batch_paths=256 if FAST else 1024, dev_paths=256 if FAST else 2048,\n"
        "                    dev_periods=60 if FAST else 100, dev_warmup=20, patience=None,\n"
        "                    lr=3e-3, seed=0)\n"
        "gnn = train(network, make_policy('gnn', network), config, progress=False)\n"
        "base = train(network, make_policy('base_stock', network), config, progress=False)\n"
        "print(f'GNN trained in {gnn.seconds:.0f} s, base-stock in {base.seconds:.0f} s')"
    ),
    nbf.v4.new_code_cell(
        "test = dict(n_paths=256 if FAST else 4096, periods=600 if FAST else 5000,\n"
        "            warmup=200 if FAST else 3000, seed=2024)\n"
        "results = {\n"
        "    'newsvendor heuristic': evaluate(network, make_policy('newsvendor', network), **test),\n"
        "    'base-stock (HDPO)': evaluate(network, base.policy, **test),\n"
        "    'GNN (HDPO)': evaluate(network, gnn.policy, **test),\n"
        "}\n"
        "for name, (mean, se) in results.items():\n"
        "    print(f'{name:22s} {mean:7.3f} +- {se:.3f} per period per store')"
    ),
    nbf.v4.new_markdown_cell("## Learning curve (dev-set cost per period per store)"),
    nbf.v4.new_code_cell(
        "import matplotlib.pyplot as plt\n\n"
        "fig, ax = plt.subplots(figsize=(6, 3.5))\n"
        "for name, res in [('GNN', gnn), ('base-stock', base)]:\n"
        "    ax.plot([r['epoch'] for r in res.history], [r['val'] for r in res.history],\n"
        "            label=name)\n"
        "ax.set_xlabel('epoch'); ax.set_ylabel('dev cost'); ax.legend(); fig.tight_layout()"
    ),
    nbf.v4.new_markdown_cell("## Inventory trajectories under the GNN policy"),
    nbf.v4.new_code_cell(
        "sim = Simulator(network)\n"
        "with torch.no_grad():\n"
        "    demand = sim.sample_demand(1, 60, seed=7)\n"
        "    run = sim.rollout(gnn.policy, demand, record=True,\n"
        "                      generator=torch.Generator().manual_seed(0))\n"
        "on_hand = torch.stack(run.states)[:, 0, :, 0].numpy()  # [periods, nodes]\n"
        "fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))\n"
        "for k, name in enumerate(network.node_names):\n"
        "    axes[0 if k == 0 else 1].plot(on_hand[:, k], label=name)\n"
        "axes[0].set_title('warehouse on hand'); axes[1].set_title('stores on hand')\n"
        "axes[1].legend(fontsize=8)\n"
        "for ax in axes:\n"
        "    ax.set_xlabel('period')\n"
        "fig.tight_layout()"
    ),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
nbf.write(nb, "notebooks/inventory.ipynb")
