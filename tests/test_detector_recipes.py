from pathlib import Path

import pytest
import torch

from detector.errors import RecipeError
from detector.manifest import LABELS
from detector.model import build_model
from detector.recipes import load_recipe, recipe_from_dict

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
RECIPES = sorted(EXPERIMENTS.glob("*.toml"))
TINY = EXPERIMENTS / "tiny_cpu.toml"
NO_WEIGHTS = {"model.pretrained": None}  # published recipes name ImageNet weights we do not ship


def _classes(recipe) -> tuple[str, ...]:
    return LABELS if recipe.model.head == "binary" else ("real", "gen-a", "gen-b")


def test_the_published_recipes_are_all_there():
    names = {path.stem for path in RECIPES}
    assert {
        "laion_sd14_convnext_large",
        "cnndetection_blur_jpeg_05",
        "cnndetection_blur_jpeg_01",
        "distribution_nway",
        "tiny_cpu",
    } <= names


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_loads_and_builds(path):
    recipe = load_recipe(path, NO_WEIGHTS)
    assert recipe.name == path.stem and recipe.description
    classes = _classes(recipe)
    # the meta device builds the real module graph without allocating ConvNeXt-Large's weights;
    # test_convnext_large_builds_for_real builds it once with memory
    with torch.device("meta"):
        model = build_model(recipe.model, classes)
        logits = model(torch.empty(2, 3, recipe.data.crop, recipe.data.crop))
    assert logits.shape == (2, 1 if recipe.model.head == "binary" else len(classes))


def test_convnext_large_builds_for_real():
    recipe = load_recipe(EXPERIMENTS / "laion_sd14_convnext_large.toml", NO_WEIGHTS)
    model = build_model(recipe.model, LABELS).eval()
    n_parameters = sum(p.numel() for p in model.parameters())
    assert 190e6 < n_parameters < 200e6  # ConvNeXt-L: 197.8M with ImageNet's 1000 classes
    with torch.inference_mode():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1)


def test_published_recipes_match_their_papers():
    laion = load_recipe(EXPERIMENTS / "laion_sd14_convnext_large.toml", NO_WEIGHTS)
    assert (laion.model.name, laion.train.epochs) == ("convnext_large", 5)
    assert (laion.train.optimizer, laion.train.schedule) == ("adamw", "onecycle")
    assert (laion.data.transforms, laion.data.resize, laion.data.crop) == ("laion", 256, 224)
    assert not laion.model.high_pass
    for suffix, p in (("05", 0.5), ("01", 0.1)):
        cnn = load_recipe(EXPERIMENTS / f"cnndetection_blur_jpeg_{suffix}.toml", NO_WEIGHTS)
        assert (cnn.data.transforms, cnn.data.blur_jpeg_prob) == ("cnndetection", p)
        assert (cnn.train.optimizer, cnn.train.schedule) == ("adam", "plateau")
    assert load_recipe(EXPERIMENTS / "distribution_nway.toml", NO_WEIGHTS).model.head == "nway"
    assert load_recipe(TINY).model.high_pass


def test_a_missing_weights_file_is_named():
    with pytest.raises(RecipeError, match=r"model\.pretrained .*convnext_large\.fb_in22k"):
        load_recipe(EXPERIMENTS / "laion_sd14_convnext_large.toml")


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("epochs = 15", "epochz = 15", "train.epochz"),
        ("epochs = 15", 'epochs = "fifteen"', "train.epochs"),
        ("epochs = 15", "", "train.epochs"),  # missing
        ("epochs = 15", "epochs = 15.0", "train.epochs"),
        ('schedule = "onecycle"', 'schedule = "cosine"', "train.schedule"),
        ("high_pass = true", 'high_pass = "yes"', "model.high_pass"),
        ('name = "convnext_atto"', 'name = "convnext_gigantic"', "model.name"),
        ("crop = 64", "crop = 0", "data.crop"),
        ("blur_jpeg_prob = 0.0", "blur_jpeg_prob = 1.5", "data.blur_jpeg_prob"),
        ("[data]", "[dataa]", "dataa"),
    ],
)
def test_a_malformed_recipe_names_the_key(tmp_path, old, new, named):
    text = TINY.read_text()
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(RecipeError, match=named.replace(".", r"\.")) as error:
        load_recipe(path)
    assert str(path) in str(error.value)


def test_invalid_toml_and_bad_overrides_are_clear_errors(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[model\nname = 1")
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(broken)
    with pytest.raises(RecipeError, match=r"train\.lrr"):
        load_recipe(TINY, {"train.lrr": 0.1})
    with pytest.raises(RecipeError, match="optimiser"):
        load_recipe(TINY, {"optimiser.lr": 0.1})


def test_overrides_apply_and_none_restores_the_default():
    recipe = load_recipe(TINY, {"train.epochs": 2, "data.workers": None, "model.head": "nway"})
    assert recipe.train.epochs == 2
    assert recipe.data.workers == 4  # DataSpec's default, not the recipe's 0
    assert recipe.model.head == "nway"


def test_to_dict_round_trips():
    recipe = load_recipe(TINY)
    assert recipe_from_dict(recipe.to_dict()) == recipe


def test_pretrained_weights_load_from_a_lightning_file_next_to_the_recipe(tmp_path):
    recipe = load_recipe(TINY)
    source = build_model(recipe.model, ("real", "a", "b"))  # other head: must be left out
    state = {f"model.{k}": v for k, v in source.backbone.state_dict().items()}
    (tmp_path / "weights").mkdir()
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "weights" / "tiny.ckpt")
    copy = tmp_path / "tiny.toml"
    copy.write_text(
        TINY.read_text().replace("[data]", 'pretrained = "weights/tiny.ckpt"\n\n[data]')
    )

    model = build_model(load_recipe(copy).model, LABELS)
    for key, value in source.backbone.state_dict().items():
        if not key.startswith("head.fc."):
            assert torch.equal(model.backbone.state_dict()[key], value), key
    assert model.backbone.head.fc.out_features == 1


def test_pretrained_weights_of_another_network_are_refused(tmp_path):
    other = build_model(load_recipe(TINY, {"model.args": {"depths": [1, 1, 2, 1]}}).model, LABELS)
    path = tmp_path / "other.pth"
    torch.save(other.backbone.state_dict(), path)
    named = r"model\.pretrained .*unexpected \[.stages\.2\.blocks\.1.*other shapes \[.stem"
    with pytest.raises(RecipeError, match=named):
        build_model(load_recipe(TINY, {"model.pretrained": str(path)}).model, LABELS)
