"""Input and output: images and masks (:mod:`respond.io.images`), tables
(:mod:`respond.io.lesion_table`), CDISC SDTM (:mod:`respond.io.sdtm`) and
atomic writers (:mod:`respond.io.writers`).

Import from the submodules; this package imports nothing itself, so that
reading a table never loads the imaging libraries.
"""
