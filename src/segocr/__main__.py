from segocr.cli import main

main(prog_name="segocr")
