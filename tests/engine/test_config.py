"""RunConfig: validation naming the field and what is allowed, TOML/JSON files, presets."""

import json

import numpy as np
import pytest

import engine
from engine import ConfigError, RunConfig

# (field, bad value, words the message must contain: the allowed values or range)
BAD = [
    ("dataset", "mnist", ["xor", "circles", "moons", "spiral", "gaussians", "digits", "csv:PATH"]),
    ("dataset", "csv:", ["csv:PATH"]),
    ("dataset", 3, ["xor", "csv:PATH"]),
    ("dataset_options", [1, 2], ["table"]),
    ("sizes", "2,x,1", ["2,4,1"]),
    ("sizes", [2], ["at least two"]),
    ("sizes", [2, 0, 1], [">= 1"]),
    ("sizes", [2, 4.5, 1], ["2,4,1"]),
    ("sizes", [2, True, 1], ["2,4,1"]),
    ("sizes", None, ["2,4,1"]),
    ("hidden", "swish", ["relu", "leaky_relu", "tanh", "sigmoid", "linear"]),
    ("hidden", ["relu", "tanh"], ["1 hidden layers", "one per hidden layer"]),
    ("hidden", None, ["relu", "leaky_relu"]),
    ("output", "relu", ["sigmoid", "softmax", "linear", "tanh"]),
    ("loss", "hinge", ["mse", "bce", "cross_entropy"]),
    ("init", "ones", ["zeros", "small", "xavier", "he"]),
    ("optimizer", "lbfgs", ["sgd", "momentum", "adam", "rmsprop"]),
    ("lr", 0, ["positive", "1e6"]),
    ("lr", -0.5, ["positive"]),
    ("lr", "fast", ["positive"]),
    ("lr", float("nan"), ["positive"]),
    ("lr", float("inf"), ["positive"]),
    ("lr", 2e6, ["1e6"]),
    ("lr", True, ["positive"]),
    ("beta", 1.0, ["[0, 1)"]),
    ("beta1", -0.1, ["[0, 1)"]),
    ("beta2", 1, ["[0, 1)"]),
    ("rho", 2, ["[0, 1)"]),
    ("eps", 0, ["positive"]),
    ("l2", -1, [">= 0"]),
    ("l2", "lots", [">= 0"]),
    ("clip", 0, ["positive", "none"]),
    ("clip", "x", ["positive", "none"]),
    ("clip_mode", "both", ["norm", "value"]),
    ("schedule", "warmup", ["constant", "step", "exponential", "cosine"]),
    ("lr_step_size", 0, [">= 1"]),
    ("lr_gamma", 0, ["positive"]),
    ("lr_min", -1, [">= 0"]),
    ("batch_size", 0, [">= 1", "full batch"]),
    ("batch_size", 2.5, [">= 1"]),
    ("batch_size", "abc", [">= 1"]),
    ("epochs", -1, [">= 0"]),
    ("epochs", "ten", [">= 0"]),
    ("epochs", float("inf"), [">= 0"]),
    ("seed", -1, ["0 to 4294967295"]),
    ("seed", 1.5, ["0 to 4294967295"]),
    ("seed", 2**32, ["0 to 4294967295"]),
    ("dtype", "float16", ["float64", "float32"]),
]


@pytest.mark.parametrize("field,value,allowed", BAD, ids=[f"{f}={v!r}" for f, v, _ in BAD])
def test_bad_field_raises_config_error_naming_it(field, value, allowed):
    with pytest.raises(ConfigError) as info:
        RunConfig.from_dict({field: value})
    err = info.value
    assert err.field == field
    message = str(err)
    assert message.startswith(f"{field}: ")
    assert "\n" not in message
    for word in allowed:
        assert word in message, (word, message)
    # The same through the dataclass constructor and replace().
    with pytest.raises(ConfigError):
        RunConfig(**{field: value})
    with pytest.raises(ConfigError):
        engine.presets["default"].replace(**{field: value})


def test_loss_output_mismatch_names_the_loss_and_allowed_outputs():
    with pytest.raises(ConfigError) as info:
        RunConfig(loss="bce", output="linear")
    assert info.value.field == "loss"
    assert "sigmoid" in str(info.value) and "softmax" in str(info.value) and "linear" in str(info.value)
    with pytest.raises(ConfigError, match="cross_entropy"):
        RunConfig(loss="cross_entropy", output="tanh")


def test_unknown_dataset_option_names_the_allowed_options():
    with pytest.raises(ConfigError) as info:
        RunConfig(dataset="moons", dataset_options={"radius": 2})
    assert info.value.field == "dataset_options"
    assert "n_samples" in str(info.value) and "noise" in str(info.value)


def test_config_errors_are_netstep_errors():
    assert issubclass(ConfigError, engine.NetstepError)
    assert issubclass(ConfigError, ValueError)


def test_unknown_field_is_named_and_fields_listed():
    with pytest.raises(ConfigError) as info:
        RunConfig.from_dict({"learning_rate": 0.1})
    assert info.value.field == "learning_rate"
    assert "lr" in str(info.value) and "unknown field" in str(info.value)


def test_normalisation():
    c = RunConfig(sizes="2, 8 ,1", hidden="relu", lr="0.25", epochs=10.0, batch_size="16")
    assert c.sizes == [2, 8, 1]
    assert c.lr == 0.25 and c.epochs == 10 and c.batch_size == 16
    with pytest.raises(ConfigError):
        RunConfig(sizes="2,8,1", hidden="relu,tanh")  # two names for one hidden layer
    assert RunConfig(sizes=[2, 3, 3, 1], hidden="relu,tanh").hidden == ["relu", "tanh"]
    assert RunConfig(sizes=[2, 3, 3, 1], hidden=["relu"]).hidden == "relu"


def test_round_trip_dict_and_replace():
    c = engine.presets["spiral"]
    again = RunConfig.from_dict(c.to_dict())
    assert again == c
    d = c.to_dict()
    json.dumps(d)
    d["sizes"].append(99)
    assert c.sizes == [2, 32, 32, 3], "to_dict is a copy"
    r = c.replace(lr=0.5)
    assert r.lr == 0.5 and c.lr == 0.01 and r.sizes == c.sizes
    assert isinstance(c.describe(), str) and "spiral" in c.describe()


# ----- files -------------------------------------------------------------------------------

def test_from_file_toml(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('dataset = "moons"\nsizes = [2, 6, 1]\nhidden = "relu"\nlr = 0.05\nclip = "none"\n'
                    'optimizer = "adam"\n\n[dataset_options]\nnoise = 0.2\n')
    c = RunConfig.from_file(path)
    assert (c.dataset, c.sizes, c.hidden, c.lr, c.clip, c.optimizer) == ("moons", [2, 6, 1], "relu", 0.05, None, "adam")
    assert c.dataset_options == {"noise": 0.2}
    assert c.epochs == RunConfig().epochs  # everything else is the default


def test_from_file_json_and_base(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"lr": 0.3, "epochs": 7}))
    c = RunConfig.from_file(path, base=engine.presets["seed"])
    assert c.lr == 0.3 and c.epochs == 7 and c.sizes == [2, 3, 1] and c.seed == 42
    # No extension: JSON recognised by its content.
    bare = tmp_path / "run"
    bare.write_text('{"lr": 0.2}')
    assert RunConfig.from_file(bare).lr == 0.2


@pytest.mark.parametrize("name,text,words", [
    ("bad.toml", "lr = = 1\n", ["not valid TOML"]),
    ("bad.json", '{"lr": 0.1,}', ["not valid JSON"]),
    ("list.json", "[1, 2]", ["table of fields"]),
    ("unknown.toml", "learning_rate = 0.1\n", ["learning_rate", "unknown field"]),
    ("badvalue.toml", 'optimizer = "lbfgs"\n', ["optimizer", "sgd"]),
])
def test_from_file_bad_content(tmp_path, name, text, words):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        RunConfig.from_file(path)
    for word in words:
        assert word in str(info.value)
    assert "\n" not in str(info.value).strip()


def test_from_file_missing_directory_and_binary(tmp_path):
    with pytest.raises(ConfigError, match="cannot read .*nope.toml"):
        RunConfig.from_file(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="cannot read .* is a directory; expected a regular file"):
        RunConfig.from_file(tmp_path)
    blob = tmp_path / "blob.toml"
    blob.write_bytes(b"\xff\xfe\x00lr")
    with pytest.raises(ConfigError, match="UTF-8"):
        RunConfig.from_file(blob)


# ----- presets -------------------------------------------------------------------------------

def test_presets_hold_at_least_seed_and_default():
    assert {"seed", "default"} <= set(engine.presets)
    for name in engine.presets:
        assert isinstance(engine.presets[name], RunConfig)
    with pytest.raises(KeyError):
        engine.presets["nope"]


def test_presets_are_copies():
    c = engine.presets["seed"]
    c.lr = 99.0
    c.sizes.append(7)
    c.dataset_options["noise"] = 1.0
    fresh = engine.presets["seed"]
    assert fresh.lr == 0.5 and fresh.sizes == [2, 3, 1] and fresh.dataset_options == {}
    assert engine.presets["seed"] is not engine.presets["seed"]


@pytest.mark.parametrize("name", ["seed", "default", "circles", "moons", "spiral"])
def test_every_preset_builds_and_steps(name):
    trainer = engine.build(engine.presets[name])
    assert trainer.config.sizes[0] == trainer.data.n_features
    assert trainer.config.sizes[-1] == trainer.data.n_outputs
    assert trainer.step().ok


def test_sizes_that_do_not_fit_the_data_are_refused_not_rewritten():
    # Issue 12 item 9: sizes 5,7,2 on spiral used to become 2,7,3 without a word.
    with pytest.raises(ConfigError, match=r"^sizes: spiral has 2 input features and 3 outputs .* got 5,7,2"):
        RunConfig(dataset="spiral", sizes=[5, 7, 2], output="softmax", loss="cross_entropy")
    with pytest.raises(ConfigError, match=r"xor has 2 input features and 1 output: sizes must start with 2 "
                                          r"and end with 1, such as 2,4,1; got 3,4,1"):
        engine.presets["default"].replace(sizes=[3, 4, 1])
    trainer = engine.build(RunConfig(dataset="spiral", sizes=[2, 7, 3], output="softmax", loss="cross_entropy"))
    assert trainer.net.sizes == [2, 7, 3] and trainer.Y_test.shape[1] == 3


def test_changing_the_data_without_sizes_carries_the_hidden_layers_over():
    # Only the sizes nobody gave follow the data: a new dataset (or class count) with no sizes.
    assert engine.presets["default"].replace(dataset="spiral").sizes == [2, 4, 3]
    assert engine.presets["spiral"].replace(dataset_options={"n_classes": 5}).sizes == [2, 32, 32, 5]
    assert engine.presets["default"].replace(dataset="digits").sizes == [64, 4, 10]
    with pytest.raises(ConfigError, match="^sizes: "):
        engine.presets["default"].replace(dataset="spiral", sizes=[2, 4, 1])


def test_a_csv_whose_width_does_not_fit_the_sizes_is_refused_at_build(tmp_path):
    path = tmp_path / "three.csv"
    path.write_text("0,0,1,0\n0,1,0,1\n1,0,1,1\n1,1,0,0\n")
    with pytest.raises(ConfigError, match=r"sizes: csv:.*three.csv has 3 input features .* such as 3,4,1; got 2,4,1"):
        engine.build(RunConfig(dataset=f"csv:{path}", sizes=[2, 4, 1]))
    assert engine.build(RunConfig(dataset=f"csv:{path}", sizes=[3, 4, 1])).net.sizes == [3, 4, 1]


def test_build_turns_bad_dataset_options_into_config_errors():
    with pytest.raises(ConfigError) as info:
        engine.build(RunConfig(dataset="circles", dataset_options={"n_samples": "many"}))
    assert info.value.field == "dataset"
    assert "n_samples" in str(info.value)
    with pytest.raises(ConfigError, match="test_fraction"):
        engine.build(RunConfig(dataset="moons", dataset_options={"test_fraction": 1.5}))


def test_build_uses_every_setting():
    c = RunConfig(dataset="moons", sizes=[2, 5, 1], optimizer="adam", lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6,
                  l2=0.1, clip=2.0, clip_mode="value", batch_size=10, seed=7, dtype="float32", schedule="step",
                  lr_step_size=4, lr_gamma=0.3, init="he", hidden="leaky_relu")
    t = engine.build(c)
    assert isinstance(t.opt, engine.optim.Adam)
    assert (t.opt.lr, t.opt.beta1, t.opt.beta2, t.opt.eps) == (0.02, 0.8, 0.99, 1e-6)
    assert (t.l2, t.clip, t.clip_mode, t.batch_size, t.seed) == (0.1, 2.0, "value", 10, 7)
    assert t.net.theta.dtype == np.float32 and t.net.hidden == ["leaky_relu"] and t.net.init == "he"
    assert (t.schedule.kind, t.schedule.step_size, t.schedule.gamma) == ("step", 4, 0.3)
    for name, cls in [("sgd", engine.optim.SGD), ("momentum", engine.optim.Momentum), ("rmsprop", engine.optim.RMSProp)]:
        assert isinstance(engine.build(c.replace(optimizer=name)).opt, cls)
    assert engine.build(c.replace(optimizer="momentum", beta=0.7)).opt.beta == 0.7
    assert engine.build(c.replace(optimizer="rmsprop", rho=0.8)).opt.rho == 0.8
