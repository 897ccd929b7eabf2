"""Writes notebooks/routing.ipynb (run: python notebooks/make_routing.py)."""

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell(
        "# Neural routing with BQ-NCO: TSP, CVRP and knapsack\n\n"
        "A constructive policy builds a solution one step at a time: the next city of a tour, "
        "the next customer of a route, the next item of a packing. **BQ-NCO** (Drakulic et "
        "al., NeurIPS 2023) starts from one observation: once part of a solution is fixed, "
        "the rest of the decisions only depend on the *remaining sub-problem*. For the TSP "
        "that is a path problem from the current city through the unvisited ones back to the "
        "origin; for the CVRP the same with the remaining customers, the depot and the "
        "vehicle's remaining capacity; for the knapsack the remaining items and capacity. "
        "States that leave the same sub-problem are equivalent (bisimilar), so the policy is "
        "trained on the quotient MDP whose states *are* those sub-problems.\n\n"
        "Consequences for the model:\n\n"
        "* a plain transformer **encoder** re-encodes the remaining sub-problem at every step "
        "and scores its tokens; there is no decoder and no context carried from earlier steps "
        "(more compute per step, but every step looks like a smaller instance of the same "
        "problem, which is why it generalises to larger sizes);\n"
        "* training is **imitation** of expert solutions (LKH-3 for the TSP, PyVRP's HGS for "
        "the CVRP, an exact MILP for the knapsack). Every suffix of an expert solution is an "
        "optimal solution of its own sub-problem, so one labelled instance gives a training "
        "example per step: **sub-path augmentation** draws random sub-problem sizes, tour "
        "rotations and directions, route orders.\n\n"
        "Decoding is greedy or a beam search over the policy's log-probabilities; on large "
        "instances `knn=k` restricts each step to the `k` unvisited nodes nearest to the "
        "current one.\n\n"
        "Below: (1) the shipped TSP100 policy against LKH-3 and an insertion heuristic; (2) "
        "the CVRP100 policy against PyVRP and Clarke-Wright savings; (3) the KP200 policy "
        "against the exact MILP; (4) the TSP policy on larger instances than it was trained "
        "on; (5) a tiny training run of your own.\n\n"
        "Fast mode (`FAST = True`, the default, used in CI) solves one instance per size, "
        "beam width 4, PyVRP for 1 s, and trains a toy model for a few seconds; set it to "
        "False for beam 16, four instances per size up to 1,000 cities and a longer training "
        "run. `CHECKPOINTS` maps each problem to a checkpoint (a file stem such as "
        "`runs/tsp/best`); `None` takes the shipped one."
    ),
    nbf.v4.new_code_cell(
        "import tempfile\n"
        "from pathlib import Path\n\n"
        "import matplotlib.pyplot as plt\n"
        "import pandas as pd\n"
        "import torch\n\n"
        "from orlearn.problems.routing import generate_cvrp, generate_kp, generate_tsp, solve\n"
        "from orlearn.problems.routing.bq import PRETRAINED, load_policy\n"
        "from orlearn.problems.routing.experts import generate_dataset, load_dataset\n"
        "from orlearn.problems.routing.train import BQTrainConfig, greedy_gaps, train_bq\n\n"
        "%matplotlib inline\n"
        "torch.set_num_threads(1)\n"
        "FAST = True\n"
        "CHECKPOINTS = {'tsp': None, 'cvrp': None, 'kp': None}  # None: the shipped checkpoint\n"
        "BEAM = 4 if FAST else 16\n"
        "work = Path(tempfile.mkdtemp(prefix='orlearn-routing-'))\n\n\n"
        "def table(solutions, reference):\n"
        "    \"\"\"Objective, gap to the reference in % (positive: worse) and seconds.\"\"\"\n"
        "    ref = solutions[reference].objective\n"
        "    rows = {}\n"
        "    for name, s in solutions.items():\n"
        "        worse = s.objective - ref if s.sense == 'min' else ref - s.objective\n"
        "        rows[name] = {'objective': s.objective, 'feasible': s.feasible,\n"
        "                      f'gap to {reference} (%)': worse / abs(ref) * 100, 'time (s)': "
        "s.time}\n"
        "    return pd.DataFrame.from_dict(rows, orient='index').round(3)"
    ),
    nbf.v4.new_markdown_cell(
        "## 1. TSP100\n\n"
        "A seeded instance with 100 cities uniform in the unit square (float Euclidean "
        "distances). The BQ policy decodes greedily (one encoder pass per city) and with a "
        "beam; LKH-3 is the reference (near-optimal at this size); farthest insertion is the "
        "classical construction heuristic. Times are wall-clock seconds for one instance on "
        "one CPU thread: the policy decodes batches of instances at once, which is where it "
        "pays off (and on a GPU)."
    ),
    nbf.v4.new_code_cell(
        "tsp = generate_tsp(100, seed=0)\n"
        "tsp_sols = {\n"
        "    'bq greedy': solve(tsp, method='bq', checkpoint=CHECKPOINTS['tsp']),\n"
        "    f'bq beam {BEAM}': solve(tsp, method='bq', beam=BEAM, "
        "checkpoint=CHECKPOINTS['tsp']),\n"
        "    'lkh': solve(tsp, method='lkh'),\n"
        "    'farthest insertion': solve(tsp, method='farthest-insertion'),\n"
        "}\n"
        "table(tsp_sols, 'lkh')"
    ),
    nbf.v4.new_code_cell(
        "fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))\n"
        "tsp_sols[f'bq beam {BEAM}'].plot(ax=axes[0])\n"
        "tsp_sols['lkh'].plot(ax=axes[1]);"
    ),
    nbf.v4.new_markdown_cell(
        "## 2. CVRP100\n\n"
        "100 customers with demands 1..9 and a depot, uniform in the unit square, vehicle "
        "capacity 50. Each policy step picks a customer and whether to reach it directly or "
        "through the depot (a refill); customers that no longer fit are masked. PyVRP's "
        "hybrid genetic search (the expert the policy imitates) is the reference; "
        "Clarke-Wright savings the classical heuristic."
    ),
    nbf.v4.new_code_cell(
        "cvrp = generate_cvrp(100, seed=0)\n"
        "cvrp_sols = {\n"
        "    'bq greedy': solve(cvrp, method='bq', checkpoint=CHECKPOINTS['cvrp']),\n"
        "    'pyvrp': solve(cvrp, method='pyvrp', time_limit=1 if FAST else 10),\n"
        "    'savings': solve(cvrp, method='savings'),\n"
        "}\n"
        "table(cvrp_sols, 'pyvrp')"
    ),
    nbf.v4.new_code_cell(
        "fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))\n"
        "cvrp_sols['bq greedy'].plot(ax=axes[0])\n"
        "cvrp_sols['pyvrp'].plot(ax=axes[1]);"
    ),
    nbf.v4.new_markdown_cell(
        "## 3. Knapsack, 200 items\n\n"
        "Values and weights uniform in (0, 1), capacity 25. The reduced state is the set of "
        "remaining items with the remaining capacity (items that no longer fit are masked, "
        "decoding stops when none fits). The exact MILP (HiGHS) gives the optimum; the "
        "classical greedy packs by value / weight ratio."
    ),
    nbf.v4.new_code_cell(
        "kp = generate_kp(200, seed=0)\n"
        "kp_sols = {\n"
        "    'bq greedy': solve(kp, method='bq', checkpoint=CHECKPOINTS['kp']),\n"
        "    'exact': solve(kp, method='exact'),\n"
        "    'ratio greedy': solve(kp, method='greedy'),\n"
        "}\n"
        "table(kp_sols, 'exact')"
    ),
    nbf.v4.new_markdown_cell(
        "## 4. Generalisation to larger TSPs\n\n"
        "The TSP policy was trained on 100-city instances only. Because every state is a "
        "sub-problem rescaled to the unit square, a step of a 1,000-city tour near its end "
        "looks like a training state; early steps see more tokens than in training. Without "
        "a window one step costs an encoder pass over all remaining cities (cubic in n over "
        "the tour); `knn=100` scores only the 100 nearest unvisited cities (the paper uses "
        "250 at 1,000 cities). Fast mode: one TSP200 (no window) and one TSP500 (`knn=100`); "
        "full mode: four instances each of 100, 200, 500 and 1,000 cities."
    ),
    nbf.v4.new_code_cell(
        "sizes = [(200, None), (500, 100)] if FAST else [(100, None), (200, None), (500, 100),\n"
        "                                                (1000, 100)]\n"
        "rows = []\n"
        "for n, knn in sizes:\n"
        "    for seed in range(1 if FAST else 4):\n"
        "        inst = generate_tsp(n, seed=1000 + seed)\n"
        "        bq = solve(inst, method='bq', knn=knn, checkpoint=CHECKPOINTS['tsp'])\n"
        "        ref = solve(inst, method='lkh')\n"
        "        rows.append({'n': n, 'knn': knn or 'all', 'gap to lkh (%)': "
        "(bq.objective / ref.objective - 1) * 100,\n"
        "                     'bq time (s)': bq.time, 'lkh time (s)': ref.time})\n"
        "pd.DataFrame(rows).groupby(['n', 'knn'], sort=False).mean().round(2)"
    ),
    nbf.v4.new_markdown_cell(
        "## 5. Train your own (tiny)\n\n"
        "The same pipeline as the shipped checkpoints, at toy scale: label TSP20 instances "
        "with LKH-3 (a training set with seed 0, a validation set with seed 1; counts are "
        "rounded up to whole chunks of 100 instances), then imitate them with sub-path "
        "augmentation: every batch draws one sub-problem size, random expert tours, random "
        "rotations and directions, and the loss is the cross-entropy of the expert's next "
        "city. After every epoch the validation instances are decoded greedily and the best "
        "checkpoint (`run/best`) is kept."
    ),
    nbf.v4.new_code_cell(
        "train_dir = generate_dataset('tsp', 20, 64 if FAST else 2000, work / 'tsp20-train', "
        "seed=0,\n"
        "                             workers=1, progress=False)\n"
        "valid_dir = generate_dataset('tsp', 20, 16, work / 'tsp20-valid', seed=1, workers=1,\n"
        "                             progress=False)\n"
        "config = BQTrainConfig(problem='tsp', data=str(train_dir), valid_data=str(valid_dir), "
        "n_valid=16,\n"
        "                       dim=32, layers=2, heads=4, ff_dim=64, batch_size=32,\n"
        "                       epochs=2 if FAST else 20, steps_per_epoch=20 if FAST else 200,\n"
        "                       device='cpu')\n"
        "model, summary = train_bq(config, work / 'run', progress=False)\n"
        "pd.Series(summary)"
    ),
    nbf.v4.new_markdown_cell(
        "Mean gap (%) to LKH on the 16 validation instances, greedy and with a beam "
        "(`greedy_gaps` decodes them in one batch), then a new TSP20 solved through "
        "`solve(..., checkpoint=...)` with the file stem of the best checkpoint."
    ),
    nbf.v4.new_code_cell(
        "valid = load_dataset(valid_dir, limit=16)\n"
        "pd.Series({f'beam {b}': greedy_gaps(model, valid, 'tsp', beam=b).mean() for b in (1, "
        "BEAM)}).round(2)"
    ),
    nbf.v4.new_code_cell(
        "tsp20 = generate_tsp(20, seed=7)\n"
        "table({'bq (this notebook)': solve(tsp20, method='bq', checkpoint=str(work / 'run' / "
        "'best')),\n"
        "       'lkh': solve(tsp20, method='lkh'),\n"
        "       'nearest neighbour': solve(tsp20, method='nearest')}, 'lkh')"
    ),
    nbf.v4.new_markdown_cell(
        "## 6. The shipped checkpoints\n\n"
        "`routing-tsp100`, `routing-cvrp100` and `routing-kp200` (in `orlearn/pretrained/`) "
        "were trained by the same `train_bq` on expert-labelled instances of 100 cities, 100 "
        "customers and 200 items; `solve(instance, method='bq')` loads the one for the "
        "instance's problem. How they were trained and their measured gaps on many "
        "instances (greedy, beam, and the larger TSPs) are recorded in "
        "`benchmarks/RESULTS.md`; `orlearn bench routing-tsp` (and `routing-cvrp`, "
        "`routing-kp`, `routing-quick`) reruns those benchmarks. The single instances above "
        "are an illustration, not a measurement. The cell below shows the encoder shape of "
        "the checkpoints used in this notebook."
    ),
    nbf.v4.new_code_cell(
        "shapes = {}\n"
        "for problem in ('tsp', 'cvrp', 'kp'):\n"
        "    policy = load_policy(CHECKPOINTS[problem], problem)\n"
        "    shapes[CHECKPOINTS[problem] or PRETRAINED[problem]] = {\n"
        "        **policy.architecture()['kwargs'],\n"
        "        'parameters': sum(p.numel() for p in policy.parameters())}\n"
        "pd.DataFrame.from_dict(shapes, orient='index')"
    ),
]

nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                               "display_name": "Python 3"}})
nbf.write(nb, "notebooks/routing.ipynb")
