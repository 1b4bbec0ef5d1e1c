import pytest
import torch

from animator.preset.schema import GramTransform
from animator.style import gram_transforms


def target(c: int = 64) -> torch.Tensor:
    f = torch.relu(torch.randn(c, 500, generator=torch.Generator().manual_seed(0)))
    return f @ f.T / 500


def is_symmetric_psd(m: torch.Tensor) -> bool:
    m = m.double()
    eigenvalues = torch.linalg.eigvalsh(m)
    return torch.allclose(m, m.T, atol=1e-8 * m.abs().max()) and eigenvalues.min() >= -1e-8 * eigenvalues.max()


@pytest.mark.parametrize("seed", range(3))
def test_eigen_randomize_stays_symmetric_psd_and_moves(seed):
    g = target()
    out = gram_transforms.eigen_randomize(g, torch.Generator().manual_seed(seed), 0.1, 1.9)
    assert is_symmetric_psd(out)
    assert (out - g).abs().max() > 0.1 * g.abs().max()
    same = gram_transforms.eigen_randomize(g, torch.Generator().manual_seed(seed), 1.0, 1.0)
    assert torch.allclose(same.float(), g, atol=1e-4)  # factors of exactly 1 rebuild the target


def test_a_low_rank_target_is_solved_on_its_range_with_the_same_result():
    f = torch.relu(torch.randn(512, 24, generator=torch.Generator().manual_seed(0)))  # 24 positions, 512 channels
    g = f @ f.T / 24
    values, vectors = gram_transforms._eigen(g)
    assert vectors.shape == (512, gram_transforms.RANGE_PROBE)  # the smaller problem was taken
    full_values, full_vectors = torch.linalg.eigh(g.double())
    factors = torch.empty(512, 512, dtype=torch.float64).uniform_(0.1, 1.9, generator=torch.Generator().manual_seed(5))
    v = full_vectors * factors
    reference = (v * full_values.clamp_min(0)) @ v.T
    out = gram_transforms.eigen_randomize(g, torch.Generator().manual_seed(5), 0.1, 1.9)
    assert torch.allclose(out.double(), reference, atol=1e-5 * reference.abs().max())
    assert is_symmetric_psd(out)
    full_rank = target(512)  # 500 positions: the full eigenproblem
    assert gram_transforms._eigen(full_rank)[1].shape == (512, 512)


def test_eigen_replace_and_random_keep_scale():
    g = target()
    replaced = gram_transforms.eigen_replace(g, torch.Generator().manual_seed(0))
    assert is_symmetric_psd(replaced)
    assert torch.allclose(torch.linalg.eigvalsh(replaced), torch.linalg.eigvalsh(g.double()).clamp_min(0), atol=1e-6)
    random = gram_transforms.random_psd(g, torch.Generator().manual_seed(0))
    assert is_symmetric_psd(random) and torch.isclose(random.trace(), g.double().trace())


@pytest.mark.parametrize("density", [0.02, 0.1, 0.5])
def test_sparse_has_the_requested_density(density):
    out = gram_transforms.sparse(target(256), torch.Generator().manual_seed(0), density, 1.0)
    assert abs((out != 0).double().mean().item() - density) <= 0.02
    assert (out >= 0).all() and torch.equal(out, out.T)


def test_sparse_values_are_half_normal_at_the_targets_scale():
    g = target(256)
    out = gram_transforms.sparse(g, torch.Generator().manual_seed(0), 0.5, 3.0)
    values = out[out != 0]
    rms = g.double().square().mean().sqrt()
    assert values.square().mean().sqrt().item() == pytest.approx(3.0 * rms.item(), rel=0.03)  # |N(0, s)| has an rms of s


def test_single_is_one_entry_and_its_mirror():
    g = target()
    out = gram_transforms.single(g, torch.Generator().manual_seed(5), 2.0)
    nonzero = out.nonzero().tolist()
    assert 1 <= len(nonzero) <= 2 and torch.equal(out, out.T)
    assert out.abs().max().item() == pytest.approx(2.0 * g.double().square().mean().sqrt().item() * 64, rel=1e-6)  # amplitude x rms x C


def test_apply_is_seeded():
    g = target(32)
    transform = GramTransform(name="eigen-randomize")
    a = gram_transforms.apply(transform, g, torch.Generator().manual_seed(7))
    b = gram_transforms.apply(transform, g, torch.Generator().manual_seed(7))
    c = gram_transforms.apply(transform, g, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c) and a.dtype == g.dtype
