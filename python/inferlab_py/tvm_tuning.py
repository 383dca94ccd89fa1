"""MetaSchedule tuning for the tvm backend, its records cached per model, CPU and budget.

The database lives under $INFERLAB_TVM_TUNING_DIR, else
${XDG_CACHE_HOME:-~/.cache}/inferlab/tvm-tuning/, like the
native engine's tactic cache: a second run with the same model, target and
--tvm-trials compiles from the records without tuning again.
"""
import hashlib
import os
import shutil
import time


def cache_root():
    if os.environ.get("INFERLAB_TVM_TUNING_DIR"):
        return os.environ["INFERLAB_TVM_TUNING_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "inferlab", "tvm-tuning")


def _cache_dir(model_path, target, trials):
    h = hashlib.sha256()
    with open(model_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    name = f"{h.hexdigest()[:16]}-{target.attrs['mcpu']}-c{int(target.attrs['num-cores'])}-n{trials}"
    return os.path.join(cache_root(), name)


def _in_process_builder():
    # MetaSchedule's LocalBuilder builds in fresh Python processes per batch,
    # each importing tvm's tensor intrinsics first (about a minute on a loaded
    # 2-core machine, past its build timeout); building in this process costs
    # a fraction of a second per candidate.
    from tvm.ir.utils import derived_object
    from tvm.s_tir.meta_schedule.builder import BuilderResult, PyBuilder
    from tvm.s_tir.meta_schedule.builder.local_builder import default_build, default_export

    @derived_object
    class InProcessBuilder(PyBuilder):
        def build(self, build_inputs):
            results = []
            for item in build_inputs:
                try:
                    results.append(BuilderResult(default_export(default_build(item.mod, item.target, None)), None))
                except Exception as e:  # noqa: BLE001 - a candidate that does not build is just skipped
                    results.append(BuilderResult(None, f"{type(e).__name__}: {e}"))
            return results

    return InProcessBuilder()


def _fused(mod, target):
    # The same preparation as MetaSchedule's compile_relax, so the tasks
    # extracted here are the functions it later looks up in the database.
    import tvm
    from tvm import relax
    with target:
        return tvm.transform.Sequential([
            relax.transform.LegalizeOps(),
            relax.transform.AnnotateTIROpPattern(),
            relax.transform.FoldConstant(),
            relax.transform.FuseOps(),
            relax.transform.FuseTIR(),
        ])(mod)


def tuned_executable(mod, target, trials, model_path):
    """(executable, description): mod compiled with MetaSchedule records for `trials` measured candidates."""
    from tvm.s_tir import meta_schedule as ms
    work_dir = _cache_dir(model_path, target, trials)
    marker = os.path.join(work_dir, "complete")
    cached = os.path.exists(marker)
    if not cached:
        staging = work_dir + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        start = time.monotonic()
        fused = _fused(mod, target)
        tasks = ms.relax_integration.extract_tasks(fused, target)
        per_iter = max(1, min(16, trials // max(1, len(tasks))))
        ms.relax_integration.tune_relax(
            fused, None, target, staging, max_trials_global=trials, num_trials_per_iter=per_iter,
            builder=_in_process_builder(), strategy=ms.search_strategy.EvolutionarySearch(population_size=128),
            seed=0)
        with open(os.path.join(staging, "complete"), "w") as f:
            f.write(f"{len(tasks)} tasks, {trials} trials, {time.monotonic() - start:.0f} s\n")
        shutil.rmtree(work_dir, ignore_errors=True)
        os.replace(staging, work_dir)
    with open(marker) as f:
        how = f.read().strip()
    database = ms.database.JSONDatabase(work_dir=work_dir, allow_missing=False)
    executable = ms.relax_integration.compile_relax(database, mod, target, None)
    origin = "records read from" if cached else "tuned now, records in"
    return executable, (f"MetaSchedule-tuned ({how}; evolutionary search, xgboost cost model; {origin} {work_dir}); "
                        "operators without a record keep TVM's unscheduled TIR")
