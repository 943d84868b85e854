# nbgrader settings for this lab's folder: with this file, `nbgrader validate` run here does not
# warn "No nbgrader_config.py file found". Validating a notebook needs no course settings.
c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)
