"""Input and output, the leaf of the house: it imports only respond's core.

- :mod:`respond.io.geometry` — the validated :class:`~respond.io.geometry.Geometry` and named tolerances;
- :mod:`respond.io.files` — file-kind checks made before any reader opens a file;
- :mod:`respond.io.nifti` — NIfTI headers read as stored (nibabel) and checked before ITK reads them;
- :mod:`respond.io.dicom` — DICOM series (slice positions via highdicom) and DICOM SEG
  (:mod:`respond.io.dicom_frames` decodes the SEG encodings highdicom cannot read as stored);
- :mod:`respond.io.images` — reading 3D images (header first, then voxels);
- :mod:`respond.io.masks` — label masks: value policy, :func:`~respond.io.masks.load_pair`, grid matching;
- :mod:`respond.io.lesion_table`, :mod:`respond.io.sdtm` — tables; :mod:`respond.io.writers` — atomic writers.

Import from the submodules; this package imports nothing itself, so that
reading a table never loads the imaging libraries.
"""
