"""The cluster recipes in runners/ say what the docs promise (they cannot run here: no SLURM,
no Kubernetes, no Docker): the files parse, and the lines that make them work as written are
there (waiting for nodes, per-job ports, srun -c, a reachable dashboard, the store on a volume,
GPUs asked for, faspec installed from this checkout rather than a package that does not exist).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

RUNNERS = Path(__file__).resolve().parents[1] / "runners"


def test_slurm_script_waits_for_every_node_on_its_own_ports():
    path = RUNNERS / "slurm" / "faspec-ray.sbatch"
    text = path.read_text()
    if shutil.which("bash"):
        assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    assert not re.search(
        r"^sleep \d+", text, re.M
    )  # no fixed sleeps in place of a wait (a poll is fine)
    assert 'wait_for "${#nodes[@]}"' in text and "exit 1" in text
    assert text.count('srun --nodes=1 --ntasks=1 -c "$cpus"') == 2  # head and workers
    assert "SLURM_JOB_ID" in text and "--temp-dir" in text and "--port=6379" not in text
    assert "--include-dashboard=true" in text and "#SBATCH --exclusive" in text
    assert "awk '{print $1}'" not in text and "*:*|127.*" in text  # IPv4, not loopback
    assert '--gpus "${FASPEC_GPUS_PER_RUN:-1}"' in text


def _docs(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((RUNNERS / "kubernetes" / name).read_text()) if d]


def test_kuberay_job_reaches_the_jobs_api_and_keeps_the_store_on_a_volume():
    (job,) = _docs("rayjob.yaml")
    (pvc,) = _docs("pvc.yaml")
    assert job["kind"] == "RayJob" and job["apiVersion"] == "ray.io/v1"
    assert "faspec verify" in job["spec"]["entrypoint"]
    assert "--store /data/results" in job["spec"]["entrypoint"]
    assert "--address" not in job["spec"]["entrypoint"]  # RAY_ADDRESS from the Jobs API
    cluster = job["spec"]["rayClusterSpec"]
    head = cluster["headGroupSpec"]
    assert head["rayStartParams"]["dashboard-host"] == "0.0.0.0"
    ports = {p["containerPort"] for p in head["template"]["spec"]["containers"][0]["ports"]}
    assert 8265 in ports
    for group in [head, *cluster["workerGroupSpecs"]]:
        pod = group["template"]["spec"]
        assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
        (c,) = pod["containers"]
        assert {"name": "FASPEC_DATA_DIR", "value": "/data/datasets"} in c["env"]
        assert c["volumeMounts"][0]["mountPath"] == "/data"
        assert "faspec" in c["image"]
    for group in cluster["workerGroupSpecs"]:
        assert "minReplicas" not in group and "maxReplicas" not in group  # no autoscaler
        limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert limits["nvidia.com/gpu"] == "1"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


@pytest.mark.parametrize("path", sorted(p for p in RUNNERS.rglob("*") if p.is_file()))
def test_no_recipe_installs_faspec_from_a_package_index(path):
    assert not re.search(r"pip install\s+faspec(\s|$)", path.read_text())


def test_container_installs_this_checkout_with_the_cluster_extras():
    text = (RUNNERS / "container" / "Dockerfile").read_text()
    assert "[train,cluster]" in text and re.search(r"rayproject/ray:2\.\d+\.\d+-py311", text)
    extras = (RUNNERS.parent / "pyproject.toml").read_text()
    assert 'cluster = ["ray[default,client]' in extras
