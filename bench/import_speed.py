"""Import throughput for 512-px JPEGs: hash, verify, decode, variants, storage and rows.

Runs the real import service in one process (so the figure is per core) against a throwaway
database and media folder, on photographs cut from scikit-image's sample data.

    python bench/import_speed.py [--images 300] [--sizes 256,512 --sizes 256,512,1024]

Each --sizes list is one measured configuration (default: the settings' variant sizes, then
the same plus 1024). Target (DESIGN §5): at least 100 images/s per core.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_jpegs(folder: Path, count: int) -> None:
    import numpy as np
    from PIL import Image
    from skimage import data

    photos = [
        data.astronaut(),
        data.chelsea(),
        data.coffee(),
        data.rocket(),
        data.hubble_deep_field(),
    ]
    rng = np.random.default_rng(0)
    for i in range(count):
        photo = Image.fromarray(photos[i % len(photos)])
        scale = rng.uniform(1.0, 1.6)
        photo = photo.resize((int(photo.width * scale), int(photo.height * scale)))
        x, y = rng.integers(0, photo.width - 384), rng.integers(0, photo.height - 288)
        crop = photo.crop((x, y, x + 384, y + 288)).resize((512, 384), Image.Resampling.BICUBIC)
        label = "0_real" if i % 2 else "1_fake"
        (folder / label).mkdir(parents=True, exist_ok=True)
        crop.save(folder / label / f"{i:05}.jpg", quality=int(rng.integers(75, 96)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--sizes", action="append", help="display sizes to render, e.g. 256,512")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="beholder-bench-"))
    os.environ["BEHOLDER_VAR_DIR"] = str(workdir)
    os.environ.pop("DATABASE_URL", None)  # a throwaway SQLite file: the bench measures the import
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studyapp.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from studyapp.models import Image
    from studyapp.services.imports import images_import

    call_command("migrate", verbosity=0)
    source = workdir / "source"
    make_jpegs(source, args.images)
    configurations = args.sizes or [
        ",".join(map(str, settings.BEHOLDER_VARIANT_SIZES)),
        ",".join(map(str, sorted({*settings.BEHOLDER_VARIANT_SIZES, 1024}))),
    ]
    print(f"database: {settings.DATABASES['default']['ENGINE']}; {args.images} 512x384 JPEGs")
    for configuration in configurations:
        sizes = [int(s) for s in configuration.split(",")]
        Image.objects.all().delete()  # each configuration imports the same files afresh
        started = time.perf_counter()
        report = images_import(source=source, dataset_name="bench", sizes=sizes)
        elapsed = time.perf_counter() - started
        assert report.imported == args.images and not report.rejected, report
        print(
            f"variants at {sizes} px: {report.imported / elapsed:.1f} images/s on one core "
            f"({elapsed:.2f} s; target >= 100)"
        )


if __name__ == "__main__":
    main()
