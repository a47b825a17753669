"""Real-vs-generated image classifiers: pure PyTorch and timm, no Django.

Public API (the Celery tasks and `python -m detector` use these):
- `detector.recipes.load_recipe(path, overrides=None) -> Recipe`
- `detector.training.train(recipe, manifest_path, out_dir, *, on_progress=None, should_stop=None)
  -> TrainResult`
- `detector.scoring.score(checkpoint_path, manifest_path, *, split=None, size=None, ...)
  -> list[ScoreRow]`
- `detector.evaluation.evaluate(checkpoint_path, manifest_path, ...) -> EvalTable`, and
  `evaluate_scores(rows) -> EvalTable`
Errors derive from `detector.errors.DetectorError`.
"""
