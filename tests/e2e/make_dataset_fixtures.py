"""Writes the dataset fixtures for the accuracy e2e tests into DIR.

Run with /usr/bin/python3 (it has PIL). The images are real handwritten
digits: the held-out split of OpenCV's digits.png (models/digits_cnn.py), so
digits_cnn must score on them as it does on `--dataset digits`, which proves
each loader maps files to the right labels.

    DIR/imagenet_val/       JPEGs + val.txt ("file class-index")
    DIR/imagenet_loc/...    the Kaggle form: ILSVRC/Data/CLS-LOC/val/*.JPEG with
                            LOC_val_solution.csv + LOC_synset_mapping.txt at the root
    DIR/folder/<0..9>/      PNGs and JPEGs, plus one garbage and one truncated JPEG
    DIR/imagenet_missing/   val.txt naming files that are not there
    DIR/empty_classes/      class folders without images
    DIR/no_images/          an empty folder
    DIR/folder_3class/      3 classes (digits_cnn has 10)
"""
import io
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models"))
import digits_cnn  # noqa: E402

PER_CLASS = 20


def held_out_digits():
    cells, labels = digits_cnn.load_digits()
    _, test = digits_cnn.split_indices()
    picked, count = [], [0] * 10
    for index in test:
        label = int(labels[index])
        if count[label] < PER_CLASS:
            count[label] += 1
            picked.append((index, label, Image.fromarray(cells[index])))
    return picked


def jpeg_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main(out):
    digits = held_out_digits()
    # ImageNet val.txt form; the order of lines is shuffled against file order on purpose.
    lines = []
    for n, (index, label, image) in enumerate(digits, start=1):
        name = f"ILSVRC2012_val_{n:08d}.JPEG"
        write(os.path.join(out, "imagenet_val", name), jpeg_bytes(image))
        lines.append(f"{name} {label}")
    write(os.path.join(out, "imagenet_val", "val.txt"), ("\n".join(reversed(lines)) + "\n").encode())

    # Kaggle form: synset ids invented for the ten digits, listed in class order.
    root = os.path.join(out, "imagenet_loc")
    synsets = [f"n9000000{d}" for d in range(10)]
    write(os.path.join(root, "LOC_synset_mapping.txt"),
          "".join(f"{s} digit {d}, handwritten {d}\n" for d, s in enumerate(synsets)).encode())
    rows = ["ImageId,PredictionString"]
    for n, (index, label, image) in enumerate(digits, start=1):
        image_id = f"ILSVRC2012_val_{n:08d}"
        write(os.path.join(root, "ILSVRC", "Data", "CLS-LOC", "val", image_id + ".JPEG"), jpeg_bytes(image))
        rows.append(f"{image_id},{synsets[label]} 0 0 19 19 ")
    write(os.path.join(root, "LOC_val_solution.csv"), ("\n".join(rows) + "\n").encode())

    # folder: form, PNG and JPEG mixed, with two files that cannot be decoded.
    for n, (index, label, image) in enumerate(digits):
        base = os.path.join(out, "folder", str(label), f"digit_{index:04d}")
        if n % 2:
            write(base + ".jpg", jpeg_bytes(image))
        else:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            write(base + ".png", buffer.getvalue())
    write(os.path.join(out, "folder", "3", "zz_garbage.jpg"), b"this is not a JPEG file\n" * 10)
    write(os.path.join(out, "folder", "7", "zz_truncated.jpg"), jpeg_bytes(digits[0][2])[:200])

    # Bad layouts.
    write(os.path.join(out, "imagenet_missing", "a.JPEG"), jpeg_bytes(digits[0][2]))
    write(os.path.join(out, "imagenet_missing", "val.txt"), b"a.JPEG 0\nb.JPEG 1\nc.JPEG 2\nd.JPEG 3\n")
    for name in ("a", "b"):
        os.makedirs(os.path.join(out, "empty_classes", name), exist_ok=True)
    os.makedirs(os.path.join(out, "no_images"), exist_ok=True)
    for label in range(3):
        write(os.path.join(out, "folder_3class", f"class{label}", "x.jpg"), jpeg_bytes(digits[label * PER_CLASS][2]))
    print(f"wrote {len(digits)} digits per layout to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
