"""The configuration of the synthetic generator: the style mix, sizes, layout jitter
and degradations (a frozen pydantic model; unknown keys are an error)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
_SPLIT_CODE = {"train": 0, "test": 1}
_REF_SIZE = 128  # font size glyphs are rasterised at before scaling


class SyntheticConfig(BaseModel):
    """How synthetic plates look: style mix, sizes, layout jitter and degradations.

    Ranges are ``(low, high)`` and sampled uniformly unless said otherwise; ``p_*`` is
    the probability that a step is applied to a plate. Lengths relative to the plate
    are in plate heights (the plate without its frame).

    >>> SyntheticConfig(n_test=50).n_test
    50
    >>> try:
    ...     SyntheticConfig(colour="red")
    ... except ValueError as e:
    ...     print(type(e).__name__, e.errors()[0]["type"])
    ValidationError extra_forbidden
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    n_train: int = Field(default=2000, ge=0)
    n_test: int = Field(default=200, ge=0)
    #: Relative weight of each plate style (names: :func:`segocr.datasets.synthetic.style_names`).
    #: ``style_mix`` is accepted as the older name of this field.
    styles: dict[str, float] = Field(
        default_factory=lambda: {"cz": 1.0}, validation_alias=AliasChoices("styles", "style_mix")
    )

    # -- size and layout ---------------------------------------------------------
    #: Height of the plate in the output image (px), sampled log-uniformly.
    plate_height: tuple[float, float] = (24.0, 220.0)
    #: Frame and car body visible around the plate, in plate heights (scaled by 0.65
    #: at the top and 0.5 at the sides).
    margin: tuple[float, float] = (0.03, 0.4)
    #: Character height / plate height.
    char_height: tuple[float, float] = (0.66, 0.76)
    #: Width / height of a full-width glyph ("8") after the horizontal squeeze.
    char_aspect: tuple[float, float] = (0.47, 0.62)
    #: Gap between characters, in character heights.
    char_gap: tuple[float, float] = (0.07, 0.16)
    #: Probability of a thinner (eroded) or bolder (stroked) glyph, each.
    p_weight: Prob = 0.3
    #: The plastic dealer frame (``generic``: 0.4 times this); its bottom strip carries
    #: dealer text.
    p_frame: Prob = 0.85
    p_dealer_text: Prob = 0.75
    #: ``cz``: the two inspection-sticker rings in the gap after the third character.
    p_stickers: Prob = 0.7
    p_screws: Prob = 0.3
    #: ``generic``: light ink on a dark plate.
    p_reversed: Prob = 0.35
    #: ``generic``: a gap in the text, and a hyphen or dot inside it.
    p_text_gap: Prob = 0.4
    p_separator: Prob = 0.2

    # -- geometry ----------------------------------------------------------------
    #: Probability of a tilt, keystone and shear; the squeeze applies always.
    p_tilt: Prob = 0.8
    #: In-plane rotation bound (degrees). Reduced per plate when boxes would overlap.
    max_tilt_deg: float = Field(default=8.0, ge=0.0, le=30.0)
    #: Keystone / foreshortening bound (fraction of the plate size).
    max_perspective: float = Field(default=0.08, ge=0.0, le=0.4)
    #: Horizontal squeeze of the whole plate (oblique views), width factor.
    view_squeeze: tuple[float, float] = (0.8, 1.05)

    # -- photometric -------------------------------------------------------------
    p_exposure: Prob = 0.5
    p_hdr: Prob = 0.25
    p_gradient: Prob = 0.35
    p_color_cast: Prob = 0.4
    color_cast: float = Field(default=0.05, ge=0.0, le=1.0)
    p_chroma_shift: Prob = 0.15

    # -- optics and sensor ---------------------------------------------------------
    p_blur: Prob = 0.55
    #: Gaussian sigma in plate heights.
    blur_sigma: tuple[float, float] = (0.004, 0.022)
    p_motion_blur: Prob = 0.15
    #: Motion blur length in plate heights.
    motion_length: tuple[float, float] = (0.03, 0.09)
    p_lowres: Prob = 0.25
    #: Plate height (px) a low-resolution plate is first downscaled to.
    lowres_height: tuple[float, float] = (14.0, 60.0)
    #: Probability a low-resolution plate is upscaled back to its size.
    p_upscale: Prob = 0.5
    p_noise: Prob = 0.6
    #: Gaussian noise sigma in grey levels (0..255).
    noise_sigma: tuple[float, float] = (1.0, 6.0)
    p_jpeg: Prob = 0.4
    jpeg_quality: tuple[int, int] = (25, 92)

    # -- pictured backgrounds ----------------------------------------------------
    #: ``us``: probability of a background cut from a DMV design picture of
    #: ``us-plate-designs/`` (when that folder is found, see :func:`designs_dir`), else
    #: a drawn colour or gradient.
    p_picture: Prob = 0.6
    #: Where ``us-plate-designs`` lives (``None``: ``$SEGOCR_DATA/us-plate-designs``,
    #: ``data/us-plate-designs`` or ``../shared/data/us-plate-designs`` beside the
    #: repository, the first found). Plates depend on whether it is found.
    designs_dir: str | None = None

    @field_validator("styles", mode="before")
    @classmethod
    def _parse_styles(cls, v: Any) -> Any:
        return parse_styles(v)

    @model_validator(mode="after")
    def _check(self) -> SyntheticConfig:
        for name, value in self:
            if isinstance(value, tuple):
                lo, hi = value
                if not 0 <= lo <= hi:
                    raise ValueError(f"{name}: need 0 <= low <= high, got {value}")
        from segocr.datasets.synthetic.styles import STYLES as registry

        unknown = sorted(set(self.styles) - set(registry))
        if unknown:
            raise ValueError(f"unknown plate style {', '.join(unknown)}; choose among: {', '.join(registry)}")
        if not self.styles or any(w < 0 for w in self.styles.values()) or sum(self.styles.values()) <= 0:
            raise ValueError(f"styles: need non-negative weights with a positive sum, got {self.styles}")
        if self.plate_height[0] < 8:
            raise ValueError(
                f"plate_height: plates under 8 px are unreadable, got {self.plate_height}"
            )
        if self.lowres_height[0] < 8:
            raise ValueError(
                f"lowres_height: plates under 8 px are unreadable, got {self.lowres_height}"
            )
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError(f"jpeg_quality: need 1 <= low <= high <= 100, got {self.jpeg_quality}")
        if self.margin[1] > 2 or self.char_height[1] > 0.95:
            raise ValueError("margin must be <= 2 plate heights and char_height <= 0.95")
        for name in ("char_height", "char_aspect", "view_squeeze"):
            if getattr(self, name)[0] < 0.2:
                raise ValueError(f"{name}: the low end must be >= 0.2, got {getattr(self, name)}")
        return self

    @property
    def style_mix(self) -> dict[str, float]:
        """The older name of :attr:`styles`."""
        return self.styles

    def clean(self) -> SyntheticConfig:
        """This config with every geometric and photometric degradation switched off
        (flat, sharp, noiseless plates; layout jitter kept).

        >>> SyntheticConfig().clean().p_blur
        0.0
        """
        off = {name: 0.0 for name in type(self).model_fields if name.startswith("p_")}
        keep = (
            "p_weight",
            "p_frame",
            "p_dealer_text",
            "p_stickers",
            "p_screws",
            "p_reversed",
            "p_text_gap",
            "p_separator",
            "p_picture",
        )
        for name in keep:
            off.pop(name)
        return self.model_copy(update=off)


DEFAULT_CONFIG = SyntheticConfig()


def parse_styles(v: Any) -> Any:
    """A style mix from a mapping, a list of names (equal weights), or a string
    ``"us:0.3,br:0.2"`` / ``"us,br"`` (as a ``-D styles=...`` option gives it).

    >>> parse_styles("us:3,br")
    {'us': 3.0, 'br': 1.0}
    >>> parse_styles(["cz", "es"])
    {'cz': 1.0, 'es': 1.0}
    """
    if isinstance(v, str):
        out: dict[str, float] = {}
        for part in v.split(","):
            name, _, w = part.strip().partition(":")
            if name:
                try:
                    out[name.strip()] = float(w) if w.strip() else 1.0
                except ValueError:
                    raise ValueError(f"styles: bad weight {w!r} for {name!r} (expected NAME:WEIGHT,...)") from None
        return out
    if isinstance(v, list | tuple):
        return {str(n): 1.0 for n in v}
    return v
