from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from nst_core.color import keep_content_chroma, match_color_statistics
from nst_core.images import to_tensor


def test_luminance_mode_keeps_the_contents_chroma_and_the_results_luma(content_image, style_image):
    result = style_image.resize(content_image.size)
    merged = keep_content_chroma(result, content_image)
    y_merged, cb_merged, cr_merged = (np.asarray(c, dtype=float) for c in merged.convert("YCbCr").split())
    y_result = np.asarray(result.convert("YCbCr").split()[0], dtype=float)
    _, cb_content, cr_content = (np.asarray(c, dtype=float) for c in content_image.convert("YCbCr").split())
    assert np.abs(y_merged - y_result).mean() < 2
    assert np.abs(cb_merged - cb_content).mean() < 2
    assert np.abs(cr_merged - cr_content).mean() < 2


def test_match_mode_gives_the_style_the_contents_colour_statistics(content_image, style_image):
    matched_image = match_color_statistics(style_image, content_image)
    assert matched_image.size == style_image.size and matched_image.mode == "RGB"
    style, content, matched = to_tensor(style_image), to_tensor(content_image), to_tensor(matched_image)
    mean_matched = matched.reshape(3, -1).mean(1)
    mean_content = content.reshape(3, -1).mean(1)
    assert torch.allclose(mean_matched, mean_content, atol=0.03)
    cov_matched = torch.cov(matched.reshape(3, -1))
    cov_content = torch.cov(content.reshape(3, -1))
    assert torch.allclose(cov_matched, cov_content, atol=0.01)
    assert not torch.allclose(torch.cov(style.reshape(3, -1)), cov_content, atol=0.01)


def test_flat_images_do_not_break_colour_matching():
    flat = Image.new("RGB", (8, 8), (50, 60, 70))
    out = match_color_statistics(flat, Image.new("RGB", (8, 8), (200, 10, 10)))
    assert np.isfinite(np.asarray(out, dtype=float)).all()
    assert np.abs(np.asarray(out, dtype=float).mean((0, 1)) - (200, 10, 10)).max() < 2  # the flat colour moved
