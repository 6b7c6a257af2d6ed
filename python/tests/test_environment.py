import json
import subprocess
import sys

from rollbench import environment


def test_missing_vllm_is_reported_not_raised(monkeypatch):
    # None in sys.modules makes the import fail as an absent module does.
    monkeypatch.setitem(sys.modules, "vllm", None)
    got = environment.describe()
    assert got["python"] == "%d.%d" % sys.version_info[:2]
    assert "vllm" in got["vllm_missing"]
    assert set(got) == {"python", "vllm_missing"}


def test_main_prints_the_description_last():
    # The child Go runs: its last line of output is the JSON.
    code = "import sys; sys.modules['vllm'] = None; from rollbench import environment; environment.main()"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert json.loads(out.strip().splitlines()[-1])["vllm_missing"]
