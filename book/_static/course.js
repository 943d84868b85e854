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
