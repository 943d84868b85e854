/* Site-wide behaviour of the course book (loaded on every page by _config.yml: html_js_files).
 *
 * Worked answers (sphinx-exercise `{solution}` with `:class: dropdown`) open with a tap anywhere
 * on their title. sphinx-togglebutton only toggles when the click lands on the title's own box
 * or its chevron; the title of a solution is mostly the link "Exercise N", and on a phone a tap
 * there jumped to the exercise and raised "button is not defined" instead of showing the answer.
 */
document.addEventListener(
  "click",
  (event) => {
    const title = event.target.closest(".toggle > .admonition-title");
    if (!title || event.target === title || event.target.closest(".toggle-button")) {
      return; // togglebutton handles these itself
    }
    const button = title.querySelector(".toggle-button");
    if (!button) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    button.click(); // bubbles to the title, whose handler toggles the answer
  },
  true,
);

/* A figure shrunk to fit the column (every wide figure on a phone) opens at full size with a
 * tap: each figure of a cell output is wrapped in a link to its own image file, named by the
 * figure's alt text. */
function linkFiguresToFullSize() {
  document.querySelectorAll(".cell_output img").forEach((img) => {
    if (img.id.startsWith("_anim_img") || img.closest("a")) {
      return; // animation frames, and figures already linked
    }
    const link = document.createElement("a");
    link.className = "figure-full-size";
    link.href = img.getAttribute("src");
    link.title = "Open the figure at full size";
    img.replaceWith(link);
    link.appendChild(img);
  });
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", linkFiguresToFullSize);
} else {
  linkFiguresToFullSize();
}
