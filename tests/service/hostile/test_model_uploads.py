"""The hostile model corpus against the validator: each upload gets its documented code and
a reason, nothing is written outside the storage area, nothing is left behind, no armed pickle
ever runs; valid tiny models of every supported architecture are accepted, in both formats."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.validation import (
    REJECTION_CODES,
    UploadRejected,
    store_model_archive,
    validate_model_archive,
)
from tests.service.hostile.arch_models import ARCHS
from tests.service.hostile.conftest import tree
from tests.service.hostile.corpus import MODEL_CASES, Case, Ctx, model_files, write_tar, write_zip
from tests.service.hostile.pickles import armed_pickle, prove_armed


def _layout(tmp_path: Path) -> tuple[Path, Path, Ctx]:
    work = tmp_path / "work"
    store = tmp_path / "area" / "storage" / "models"  # ../../../outside from a member lands in tmp_path
    outside = tmp_path / "outside"
    for d in (work, store, outside):
        d.mkdir(parents=True)
    return work, store, Ctx(outside=outside, marker=tmp_path / "PICKLE_RAN")


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
def test_hostile_model_upload_is_refused(case: Case, valid_model: Path, tmp_path: Path, reliability) -> None:
    work, store, ctx = _layout(tmp_path)
    upload = case.build(work, valid_model, ctx)
    before = tree(tmp_path)
    with pytest.raises(UploadRejected) as info:
        store_model_archive(upload, store, case.upload_limits())
    err = info.value
    assert err.code == case.code, f"{case.name}: got {err.code}: {err.message}"
    assert err.status == REJECTION_CODES[case.code][0] and 400 <= err.status < 500
    assert len(err.message.split()) >= 5 and err.message[0].isalnum()  # a sentence, not a bare code
    assert tree(tmp_path) == before, "the refused upload created or left files"
    assert list(store.iterdir()) == [] and list(ctx.outside.iterdir()) == []
    assert not ctx.marker.exists(), "an uploaded pickle was executed"
    reliability.row("uploads", case=case.name, kind="model", expected=case.code, got=err.code,
                    status=err.status, left_behind=0, reason=err.message[:90])


def test_armed_pickles_are_armed(tmp_path: Path, reliability) -> None:
    """The corpus pickle really runs code when unpickled (so 'never ran' above means something)."""
    marker = tmp_path / "RAN"
    assert prove_armed(armed_pickle(marker), marker)
    reliability.figure("uploads", "armed pickle self-check (runs code when unpickled outside the validator)", "yes")


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_valid_tiny_models_are_accepted(arch: str, fmt: str, arch_models: dict[str, Path], tmp_path: Path, reliability) -> None:
    model = arch_models[arch]
    up = tmp_path / f"m.{fmt}"
    (write_zip if fmt == "zip" else write_tar)(up, model_files(model), prefix=f"{arch}-model/")
    store = tmp_path / "store"
    stored = store_model_archive(up, store)
    m = stored.manifest
    assert stored.created and stored.directory == store / m.sha256
    assert m.architecture == arch and m.model_class.endswith("ForSequenceClassification")
    assert m.labels == ["LABEL_0", "LABEL_1"] and m.num_layers == 2 and m.num_heads == 2
    assert sorted(p.name for p in stored.directory.iterdir()) == sorted(model_files(model))
    for name, data in model_files(model).items():
        assert (stored.directory / name).read_bytes() == data
    assert [p.name for p in store.iterdir()] == [m.sha256]  # no .incoming-* left
    again = store_model_archive(up, store)  # content-addressed: same id, nothing new
    assert not again.created and again.directory == stored.directory
    reliability.row("uploads", case=f"valid_{arch}_{fmt}", kind="model", expected="accepted",
                    got="accepted", status=201, left_behind=0, reason=f"{m.num_parameters} parameters")


def test_parameter_count_matches_torch(arch_models: dict[str, Path], tmp_path: Path) -> None:
    from safetensors.torch import load_file

    for arch, model in arch_models.items():
        up = write_zip(tmp_path / f"{arch}.zip", model_files(model))
        counted = sum(t.numel() for t in load_file(model / "model.safetensors").values())
        assert validate_model_archive(up).num_parameters == counted


def test_same_content_same_sha_across_formats(valid_model: Path, tmp_path: Path) -> None:
    a = validate_model_archive(write_zip(tmp_path / "a.zip", model_files(valid_model), prefix=""))
    b = validate_model_archive(write_tar(tmp_path / "b.tar.gz", model_files(valid_model), prefix="x/y/"))
    files = model_files(valid_model)
    files["config.json"] += b"\n"  # one byte more: a different model file set
    c = validate_model_archive(write_zip(tmp_path / "c.zip", files))
    assert a.sha256 == b.sha256 != c.sha256


def test_plain_tar_of_a_directory_is_accepted(valid_model: Path, tmp_path: Path) -> None:
    """``tar czf m.tar.gz -C dir .`` writes a './' entry: it is normalised, not refused."""
    import tarfile

    copy = shutil.copytree(valid_model, tmp_path / "m")
    with tarfile.open(tmp_path / "m.tar.gz", "w:gz") as tf:
        tf.add(copy, arcname=".")
    assert validate_model_archive(tmp_path / "m.tar.gz").architecture == "bert"


def test_corpus_covers_the_refusal_codes(reliability) -> None:
    """Which documented codes the hostile corpus exercises (the rest are listed, not hidden)."""
    from service.validation import REJECTION_CODES
    from tests.service.hostile.dataset_corpus import DATASET_CASES

    used = {c.code for c in MODEL_CASES} | {c.code for c in DATASET_CASES}
    assert used <= set(REJECTION_CODES)
    missing = sorted(set(REJECTION_CODES) - used)
    assert len(missing) <= 3, f"codes without a hostile case: {missing}"
    reliability.figure("uploads", "hostile cases in the corpus", f"{len(MODEL_CASES)} model archives + {len(DATASET_CASES)} datasets")
    reliability.figure("uploads", "documented refusal codes exercised", f"{len(used)} of {len(REJECTION_CODES)} (not exercised: {', '.join(missing) or 'none'})")
