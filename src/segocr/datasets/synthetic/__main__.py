"""``python -m segocr.datasets.synthetic OUT_DIR [--n N] [--seed S] [--style NAME ...]``."""

from segocr.datasets.synthetic.dataset import main

if __name__ == "__main__":
    main()
