"""Open a DICOM SEG whatever its transfer syntax, decoding what highdicom cannot read as stored.

highdicom reads little-endian SEGs whose frames pydicom can decode: native
(uncompressed) frames, RLE Lossless (pydicom, or the pylibjpeg-rle plug-in),
JPEG 2000 (pylibjpeg-openjpeg) and JPEG-LS (pyjpegls, a highdicom dependency).
Three encodings that real SEGs use are decoded here instead, and the dataset
re-encoded in memory as Explicit VR Little Endian before highdicom reads it:

- big-endian datasets (Explicit VR Big Endian, retired): highdicom refuses
  them; pydicom decodes their pixels;
- Deflated Image Frame Compression (1.2.840.10008.1.2.8.1, DICOM 2024): each
  frame is a raw deflate stream (RFC 1951), inflated with :mod:`zlib`;
- RLE Lossless with 1 bit allocated (BINARY segments): the one RLE segment
  holds the frame's packed bits, which pydicom's RLE decoder returns as 8-bit
  bytes (neither pydicom nor pylibjpeg-rle accepts 1 bit allocated).

A SEG whose frames cannot be decoded (e.g. JPEG Lossless without a plug-in) is
refused under ``image.dicom_encoding``, naming the transfer syntax and its UID
and how to convert the file.
"""
from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Final

import numpy as np

from respond.errors import ImageFileError

#: Deflated Image Frame Compression (DICOM PS3.5 §8.2.16; not yet in pydicom 3.0's dictionary).
DEFLATED_IMAGE_FRAME_COMPRESSION: Final = "1.2.840.10008.1.2.8.1"

#: How to turn a SEG of an unreadable encoding into one respond reads.
CONVERSION_ADVICE: Final = ("convert it to uncompressed Explicit VR Little Endian first, e.g. with GDCM "
                            "(`gdcmconv --raw in.dcm out.dcm`) or DCMTK (`dcmconv +te in.dcm out.dcm`; "
                            "`dcmdjpeg` / `dcmdrle` for JPEG / RLE)")


def syntax_name(uid: str) -> str:
    """A transfer syntax as ``"Name (UID)"`` (the UID alone when pydicom does not know it)."""
    from pydicom.uid import UID

    if str(uid) == DEFLATED_IMAGE_FRAME_COMPRESSION:
        return f"Deflated Image Frame Compression ({uid})"
    name = UID(str(uid)).name
    return f"{name} ({uid})" if name and name != str(uid) else f"transfer syntax {uid}"


def encoding_error(uid: str, reason: str, file: str) -> ImageFileError:
    """The error for a SEG whose frames cannot be decoded."""
    return ImageFileError(
        f"cannot decode the SEG's frames, stored as {syntax_name(uid)} ({reason}); {CONVERSION_ADVICE}",
        code="image.dicom_encoding", file=file, value=str(uid))


def open_seg(path: Path):
    """The :class:`highdicom.seg.Segmentation` of a SEG file, transcoded first when highdicom cannot read it."""
    import highdicom as hd
    import pydicom

    file = str(path)
    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is an unreadable file
        raise ImageFileError(f"cannot read the DICOM SEG: {exc}", code="image.dicom_seg", file=file) from exc
    uid = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if _needs_transcoding(ds, uid):
        ds = _as_explicit_little_endian(ds, uid, file)
    try:
        seg = hd.seg.Segmentation.from_dataset(ds, copy=False)
    except Exception as exc:  # noqa: BLE001 - highdicom raises several types for a malformed SEG
        raise ImageFileError(f"cannot read the DICOM SEG ({syntax_name(uid)}): {exc}", code="image.dicom_seg",
                             file=file) from exc
    _check_frames_decode(seg, uid, file)
    return seg


def _needs_transcoding(ds, uid: str) -> bool:
    from pydicom.uid import UID, RLELossless

    if uid == DEFLATED_IMAGE_FRAME_COMPRESSION:
        return True
    if uid == RLELossless and int(ds.get("BitsAllocated", 8)) == 1:
        return True
    syntax = UID(uid)
    return syntax.is_transfer_syntax and not syntax.is_little_endian


def _check_frames_decode(seg, uid: str, file: str) -> None:
    """Decode the first frame, so that an unsupported encoding is reported as such (not as bad geometry)."""
    if int(seg.get("NumberOfFrames", 1) or 1) < 1:
        return
    try:
        seg.get_stored_frame(1)
    except Exception as exc:  # noqa: BLE001 - decoders raise many types; all mean "cannot decode"
        raise encoding_error(uid, str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__,
                             file) from exc


def _as_explicit_little_endian(ds, uid: str, file: str):
    """The same SEG with its frames decoded and stored natively, re-read from an in-memory file."""
    import pydicom
    from pydicom.pixels import pack_bits
    from pydicom.uid import ExplicitVRLittleEndian

    frames = _decode_frames(ds, uid, file)
    bits = int(ds.BitsAllocated)
    if bits == 1:
        ds.PixelData = pack_bits(frames.ravel())
        ds["PixelData"].VR = "OB"
    else:
        ds.PixelData = np.ascontiguousarray(frames.astype(f"<u{bits // 8}")).tobytes()
        ds["PixelData"].VR = "OB" if bits == 8 else "OW"
    ds["PixelData"].is_undefined_length = False
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)


def _decode_frames(ds, uid: str, file: str) -> np.ndarray:
    """Every frame as an array (frames, rows, columns) of stored values."""
    from pydicom.encaps import generate_frames
    from pydicom.pixels import unpack_bits

    rows, columns, count = int(ds.Rows), int(ds.Columns), int(ds.get("NumberOfFrames", 1) or 1)
    bits = int(ds.BitsAllocated)
    try:
        if uid == DEFLATED_IMAGE_FRAME_COMPRESSION or bits == 1 and ds.file_meta.TransferSyntaxUID.is_encapsulated:
            raw = [_inflate_or_unrle(frame, uid, rows * columns, bits)
                   for frame in generate_frames(ds.PixelData, number_of_frames=count)]
            if bits == 1:
                return np.stack([unpack_bits(r)[: rows * columns].reshape(rows, columns) for r in raw])
            dtype = np.dtype(f"<u{bits // 8}")
            return np.stack([np.frombuffer(r, dtype)[: rows * columns].reshape(rows, columns) for r in raw])
        return np.asarray(ds.pixel_array).reshape(count, rows, columns)
    except (ValueError, RuntimeError, NotImplementedError, zlib.error, KeyError) as exc:
        raise encoding_error(uid, str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__,
                             file) from exc


def _inflate_or_unrle(frame: bytes, uid: str, pixels: int, bits: int) -> bytes:
    """One encapsulated frame's stored bytes: inflated (deflate) or RLE-decoded as packed 8-bit bytes."""
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder
    from pydicom.uid import RLELossless

    if uid == DEFLATED_IMAGE_FRAME_COMPRESSION:
        return zlib.decompress(frame, wbits=-15)
    if uid != RLELossless:
        raise ValueError(f"1-bit frames in {syntax_name(uid)} are not decoded by respond")
    n_bytes = -(-pixels * bits // 8)
    array, _ = get_decoder(RLELossless).as_array(
        encapsulate([frame]), rows=1, columns=n_bytes, number_of_frames=1, samples_per_pixel=1, bits_allocated=8,
        bits_stored=8, photometric_interpretation="MONOCHROME2", pixel_representation=0)
    return array.tobytes()
