"""The palette's "Preview: show / hide the style masks' regions" (issue 22.1): the masks now in
the form, tinted over the preview (nst_tui/app/widgets/picture/regions_tint.py)."""

from __future__ import annotations

from nst_engine.errors import NSTError

NO_MASKS = "No style masks in the form: give one under a style image (└ mask) to see its region."


def toggle_regions(app) -> None:
    """Show the form's style masks' regions on the preview, or hide them (`app`: the NSTApp;
    not imported here, which imports this)."""
    from nst_tui.app.widgets.form.path_field import PathField
    from nst_tui.app.widgets.form.style_images import StyleImages
    from nst_tui.app.widgets.picture.regions_tint import legend, read_masks

    preview = app.main.preview
    if preview.tint_masks:
        preview.set_tint(())
        app.notify("Preview: regions hidden.")
        return
    form = app.main.form
    paths = form.query_one(StyleImages).mask_paths()
    if not paths:
        app.notify(NO_MASKS, title="Regions", severity="warning")
        return
    try:
        masks = read_masks(paths)
    except NSTError as error:
        app.notify(error.message, title="Regions", severity="error")
        return
    content = form.query_one("#content-field", PathField).path
    preview.set_tint(masks, content if content is not None and content.is_file() else None)
    app.notify(f"Preview: regions tinted ({legend(len(masks))}).")
