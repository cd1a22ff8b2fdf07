"""Sphinx configuration of the mir101 book (Sphinx + MyST-NB; pages are MyST markdown notebooks).

Every page is executed on every build (``nb_execution_mode = "force"``) and a failing cell fails
the build (``nb_execution_raise_on_error``); ``make book`` adds ``-W`` so that any warning, a broken
cross-reference included, fails it too. Nothing is fetched from the network while building.
"""

project = "mir101"
author = "mir101 developers"
copyright = "mir101 developers; built from the ISMIR 2024 tutorial by Peeters, Meseguer-Brocal, Riou, Lattner"

extensions = ["myst_nb"]
source_suffix = {".md": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute"]

# --- MyST
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# --- execution: every page runs on every build, errors fail the build
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 1800  # seconds per cell (a training cell of `make book-full` takes minutes)
nb_execution_in_temp = False  # run in book/, so that pages import booksetup.py
nb_merge_streams = True
nb_output_stderr = "remove"  # progress bars and library logs; the pages print what matters
nb_number_source_lines = False
nb_render_markdown_format = "myst"  # tables printed by cells (booksetup.table) render as tables

# --- HTML, offline: no intersphinx, no remote assets
html_theme = "sphinx_book_theme"
html_title = "mir101 — Deep Learning 101 for audio-based MIR"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_last_updated_fmt = None
