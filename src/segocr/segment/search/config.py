"""The settings of the segmentation search (:class:`SearchConfig`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from segocr.segment.binarize import BinarizeConfig


class SearchConfig(BaseModel):
    """Every choice of the segmentation search (stored in the segcnn weight card as
    ``SegCNNConfig.search``). Lengths are fractions of the row's character height
    ``hc`` unless said otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: Binarizations whose hypotheses become lattices; ``None``: the segmentation
    #: config's.
    binarizers: tuple[BinarizeConfig, ...] | None = None
    #: Which plates the recognizer searches: those the whole cascade (``cascade``) or
    #: its first binarization alone (``first_binarization``) does not read
    #: confidently (every plate when the cascade has no confidence threshold).
    run_after: Literal["cascade", "first_binarization"] = "cascade"
    #: Under a plate format (:mod:`segocr.formats`), also offer the N best paths to
    #: the format decoder as hypotheses (off: it sees the cascade's hypotheses only;
    #: on validation, 74 against 75 of 78 plates with the ``cz`` format).
    paths_to_format: bool = False
    #: Under a plate format, a plate the search reads is read under the format by the
    #: search itself: each layout of the format (its per-position character masks,
    #: :attr:`segocr.formats.schema.Automaton.masks`) is searched, so the cuts and
    #: merges are chosen knowing which characters the format allows where, and the
    #: best legal path is kept unless less likely than the free one by more than the
    #: format's margin (path scores on both sides: edit costs, noise and the length
    #: prior included). Off: the format decodes the cascade's hypotheses (and, with
    #: ``paths_to_format``, the free N best paths), scored box by box.
    format_paths: bool = False
    #: The noise veto (``noise_veto``) in the layouts' searches too. Off (round 5 of
    #: issue 13), a layout may read a box the classifier finds likelier noise, which
    #: the free search may not: a legal free reading then loses to a legal path the
    #: free search could not take (validation: ``7B10307`` -> ``7B13307``).
    format_noise_veto: bool = True
    #: Cut sources inside a box.
    cut_minima: bool = True
    cut_concavities: bool = True
    cut_pitch: bool = True
    #: Boxes narrower than this (fraction of hc) are not cut.
    min_cut_width: float = Field(0.45, ge=0, le=5)
    #: A projection minimum is a cut when at most this fraction of the box's median
    #: column ink.
    minima_depth: float = Field(0.5, gt=0, le=2)
    #: A profile concavity is a cut when at least this deep (fraction of hc).
    concavity_depth: float = Field(0.25, gt=0, le=1)
    #: Pieces narrower than this (fraction of hc, at least 2 px) are not made.
    min_piece_width: float = Field(0.1, ge=0, le=1)
    #: Most pieces one candidate box may span.
    max_pieces: int = Field(3, ge=1, le=16)
    #: Merge pieces of neighbouring boxes (broken characters).
    merge_boxes: bool = True
    #: Offer the row's components the hypothesis dropped (outside its boxes, inside
    #: the row) as optional pieces: a path may skip them for free or read them.
    extra_pieces: bool = True
    #: ... only those at least this tall (fraction of hc).
    extra_min_height: float = Field(0.3, ge=0, le=2)
    #: Character geometry of a new box (a cut or merged span): height limits against
    #: the row's local height, width limit, largest bottom offset from the baseline.
    min_char_height: float = Field(0.7, gt=0, le=2)
    max_char_height: float = Field(1.3, gt=0, le=3)
    max_char_width: float = Field(0.95, gt=0, le=3)
    max_baseline_offset: float = Field(0.2, ge=0, le=2)
    #: Log-cost of every cut inside a box and of every merge across boxes that a
    #: path uses (the hypothesis's own boxes cost nothing).
    cut_logp: float = Field(-1.0, le=0)
    merge_logp: float = Field(-1.0, le=0)
    #: A new box (cut or merged) narrower than ``narrow_width`` x the row's pitch may
    #: only be one of ``narrow_chars`` (a sliver cut off a "B" is not an "E").
    narrow_width: float = Field(0.6, ge=0, le=2)
    #: A new box wider than this x the pitch is not a character.
    max_pitch_width: float = Field(1.35, gt=0, le=5)
    narrow_chars: str = "1IJ"
    #: A box is not read as a character less probable than noise (the cascade's rule),
    #: nor as one below ``min_char_logp``.
    noise_veto: bool = True
    min_char_logp: float = Field(-12.0, le=0)
    #: Characters tried per candidate box (the classifier's best ones).
    chars_per_box: int = Field(3, ge=1, le=64)
    #: Best paths kept per lattice state and returned.
    n_best: int = Field(3, ge=1, le=100)
    #: Weight of the length prior against the classifier's log-probabilities.
    length_weight: float = Field(1.0, ge=0)
    #: Longest reading searched.
    max_length: int = Field(12, ge=1, le=32)
    #: Row-band candidates (issue 13, from the validation plates lost to
    #: segmentation; off: the search as before). With either on, the row is fitted
    #: through the boxes of typical height (within ``typical_height`` of the median),
    #: so a box joined to the frame does not tilt it.
    #: ``clip_to_row``: a candidate box reaching above the row's top line or below its
    #: baseline by more than ``clip_pad`` x hc also offers its ink clipped to the band
    #: (a character touching the frame's top or bottom edge), at ``clip_logp``.
    clip_to_row: bool = False
    clip_pad: float = Field(0.05, ge=0, le=1)
    clip_logp: float = Field(-1.0, le=0)
    #: ``gap_windows``: where neighbouring boxes leave a gap of at least ``gap_width``
    #: x pitch, and one advance beyond each end of the row, windows one pitch wide at
    #: the row's advance are optional pieces (skipped for free; read as a character at
    #: ``window_logp``): the window's ink clipped to the band, and the bare window (a
    #: character the binarization lost: faint, or joined to the band).
    gap_windows: bool = False
    gap_width: float = Field(0.9, gt=0, le=5)
    window_logp: float = Field(-1.0, le=0)
    #: ... and the windows one advance beyond each end of the row (off: windows in
    #: the gaps inside the row only; round 2 of issue 13: an end window gives a
    #: 6-character plate a nearly free 7th character under the length prior).
    window_ends: bool = True
    typical_height: float = Field(0.12, gt=0, le=1)
