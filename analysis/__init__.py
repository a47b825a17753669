"""People vs classifiers on the same images: the statistics behind `python -m analysis.compare`.

No Django here. The input is two tables — responses and images with classifier scores — read from
the REST exports by `loaders` (or from the database by the `--study` loader). Then:

- `dataset`: the analysable trials and the items (image × display size, or pairs) they showed;
- `groups`: the dimensions and groups of `summary.csv`;
- `summary`: every per-group statistic, built from `sdt` (d′, c, rating ROC), `agreement`
  (Wilson, McNemar, Holm, Fleiss' kappa, error consistency), `classifier` (accuracy, AUC, AP, ECE,
  operating point) and `bootstrap` (the crossed participants × images bootstrap);
- `mixed`: the crossed random-intercept logistic regression;
- `shortcut`: the audit of labels predictable from file facts;
- `figures`, `gallery`, `report`: the plots and the Markdown/HTML report; `compare`: the CLI;
- `simulate`: studies with known truth for tests and benchmarks.
"""
