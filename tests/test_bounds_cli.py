"""Issue 13 items 6, 7, 11 and issue 12 items 9, 10 as attacks on the real `netstep` command.

Each case used to end in a MemoryError or RecursionError traceback, ran until killed,
blocked forever, or was silently rewritten. Now each exits 2 with one line on stderr
naming what is wrong and what is allowed, fast, and before anything large is allocated.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

BIN = pathlib.Path(sys.executable).parent / "netstep"
COMMAND = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "tui"]


def netstep(*argv, env=None, timeout=60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NETSTEP_")}
    full_env.update(env or {})
    return subprocess.run([*COMMAND, *argv], capture_output=True, text=True, timeout=timeout, env=full_env)


def refused(done, *words):
    """Exit 2, nothing on stdout, one line on stderr holding every word, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    err = done.stderr.strip()
    assert "Traceback" not in err and "MemoryError" not in err and "RecursionError" not in err, err
    assert err.count("\n") == 0, err
    assert err.startswith("netstep: "), err
    for w in words:
        assert w in err, (w, err)
    assert done.stdout == ""
    return err


# ----- bounded memory: estimated before anything is allocated (issue 13 item 6) ---------------

def test_a_huge_network_is_refused_with_its_estimate_and_the_budget():
    err = refused(netstep("train", "--sizes", "2,100000,100000,1", "--epochs", "1"),
                  "memory: needs about", "iB of memory", "budget is 1.0 GiB", "NETSTEP_MEMORY_BUDGET")
    assert "parameters" in err


def test_the_budget_follows_the_environment_variable():
    # The digits preset fits 1 GiB but not 2 MB: the server lowers the budget per session.
    refused(netstep("train", "--preset", "digits", "--epochs", "1", env={"NETSTEP_MEMORY_BUDGET": "2M"}),
            "budget is 2.0 MiB")
    ok = netstep("train", "--preset", "digits", "--epochs", "1", "--json", env={"NETSTEP_MEMORY_BUDGET": "512M"})
    assert ok.returncode == 0, ok.stderr


def test_a_trillion_samples_are_refused():
    refused(netstep("train", "--dataset", "circles", "--set", "dataset_options.n_samples=1e12", "--epochs", "1"),
            "n_samples", "1,000,000")


def test_a_billion_spiral_classes_are_refused():
    refused(netstep("train", "--preset", "spiral", "--set", "dataset_options.n_classes=1000000000", "--epochs", "1"),
            "n_classes", "1,000")


def test_a_csv_with_30000_labels_is_refused(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("".join(f"{i % 7},{i}\n" for i in range(30_000)))
    refused(netstep("train", "--dataset", f"csv:{path}", "--epochs", "1"), "30,000 different values", "1,000 classes")


def test_many_samples_times_wide_layers_are_refused_by_the_estimate():
    refused(netstep("train", "--dataset", "circles", "--set", "dataset_options.n_samples=1000000", "--sizes", "2,2000,1",
                    "--epochs", "1"), "activations", "budget")


# ----- bounded time (issue 13 item 7) -----------------------------------------------------------

def test_epochs_past_the_bound_are_refused():
    refused(netstep("train", "--epochs", "1000000000000000000"), "epochs", "at most 1,000,000,000")
    refused(netstep("train", "--epochs", "1e18"), "epochs", "at most 1,000,000,000")
    refused(netstep("train", "--epochs", "1000000001"), "epochs", "at most 1,000,000,000")


# ----- files that are not regular files (issue 13 items 2 and 6) --------------------------------

def test_dev_zero_as_config_or_csv_is_refused_without_reading():
    refused(netstep("train", "--config", "/dev/zero"), "/dev/zero", "a device", "regular file")
    refused(netstep("train", "--dataset", "csv:/dev/zero"), "/dev/zero", "a device", "regular file")


def test_a_fifo_as_config_or_csv_does_not_block(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # Before: open() on a FIFO with no writer blocked forever. The timeout is only a safety net.
    refused(netstep("train", "--config", str(fifo), timeout=60), "named pipe (FIFO)", "regular file")
    refused(netstep("train", "--dataset", f"csv:{fifo}", timeout=60), "named pipe (FIFO)", "regular file")


def test_a_directory_as_config_or_csv_says_so(tmp_path):
    refused(netstep("train", "--config", str(tmp_path)), "is a directory")
    refused(netstep("train", "--dataset", f"csv:{tmp_path}"), "is a directory")


def test_an_oversized_config_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(5 << 20)  # sparse: 5 MiB of zeros costs no disk
    refused(netstep("train", "--config", str(big)), "5.0 MiB", "at most 1.0 MiB")


# ----- malformed input (issue 13 item 11) ---------------------------------------------------------

@pytest.mark.parametrize("suffix, text", [
    (".json", '{"lr": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    (".toml", "lr = " + "[" * 100_000 + "]" * 100_000 + "\n"),
    (".toml", "sizes = " + "[" * 40 + "2" + "]" * 40 + "\n"),
], ids=["json-100000-levels", "toml-100000-levels", "toml-40-levels"])
def test_deeply_nested_configs_are_refused(tmp_path, suffix, text):
    path = tmp_path / f"deep{suffix}"
    path.write_text(text)
    refused(netstep("train", "--config", str(path)), "nests", "levels deep")


def test_a_deeply_nested_set_value_is_refused():
    refused(netstep("train", "--set", "lr=" + "[" * 100_000), "--set lr", "levels deep")


def test_a_200kb_csv_cell_is_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("x,y,label\n" + "1," * 2 + "0\n" + "2," + "9" * 200_000 + ",1\n")
    refused(netstep("train", "--dataset", f"csv:{path}"), "characters",
            "one number")


def test_a_quoted_200kb_csv_field_is_refused(tmp_path):
    # A quoted field past the csv module's own limit used to raise _csv.Error.
    path = tmp_path / "quoted.csv"
    path.write_text('0,1,0\n"' + "a" * 200_000 + '",1,1\n')
    refused(netstep("train", "--dataset", f"csv:{path}"), "csv file")


def test_a_binary_csv_is_reported_as_binary_not_empty(tmp_path):
    path = tmp_path / "blob.csv"
    path.write_bytes(bytes(range(256)) * 40)
    refused(netstep("train", "--dataset", f"csv:{path}"), "binary")


# ----- sizes that do not fit the data (issue 12 item 9) ----------------------------------------

def test_sizes_that_do_not_fit_the_dataset_are_refused_naming_its_width():
    refused(netstep("train", "--dataset", "xor", "--sizes", "3,4,1"),
            "sizes", "xor has 2 input features and 1 output", "start with 2", "got 3,4,1")
    refused(netstep("--dataset", "xor", "--sizes", "3,4,1"), "xor has 2 input features")  # the app refuses too
    refused(netstep("gradcheck", "--preset", "spiral", "--sizes", "2,8,2"), "3 outputs")


def test_a_new_dataset_without_sizes_keeps_the_hidden_layers():
    done = netstep("train", "--dataset", "spiral", "--output", "softmax", "--loss", "cross_entropy", "--epochs", "1",
                   "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["config"]["sizes"] == [2, 4, 3]


def test_the_config_form_shows_the_sizes_error_inline():
    # The form (tui/screens/config_form.py) reports each field's engine.ConfigError under it.
    import engine
    from tui.screens.config_form import validate

    errors, config = validate({"dataset": "xor", "sizes": "3,4,1"}, engine.presets["default"])
    assert config is None
    assert "xor has 2 input features and 1 output" in errors["sizes"]
    errors, config = validate({"dataset": "spiral", "sizes": "2,4,3", "output": "softmax", "loss": "cross_entropy"},
                              engine.presets["default"])
    assert errors == {} and config.sizes == [2, 4, 3]


def test_headless_commands_start_without_textual_or_asyncio():
    code = ("import sys, json, tui.cli\ntui.cli.main(['presets'])\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "engine" in loaded
    assert not loaded & {"textual", "rich", "plotext", "asyncssh", "asyncio"}, loaded


def _interrupt_a_long_run(wait):
    import signal
    import time

    proc = subprocess.Popen([*COMMAND, "train", "--epochs", "1000000000", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(wait)  # let it start training (what is checked is the summary, not the time)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, out, err


def test_ctrl_c_ends_a_long_run_with_a_clean_summary():
    for wait in (4, 15):  # on a loaded machine the first signal may land before training starts
        code, out, err = _interrupt_a_long_run(wait)
        if out:
            break
    assert code == 130, err
    doc = json.loads(out)
    assert doc["interrupted"] is True and 0 < doc["epochs"] < 1_000_000_000
    assert "Traceback" not in err
