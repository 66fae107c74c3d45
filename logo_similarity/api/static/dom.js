// Small DOM helpers the page's panels share (loaded before them).
"use strict";
window.logoSim = {
  // a <td> with ``text`` (and ``className``) appended to ``row``; returns it
  cell(row, text, className = "") {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  },
};
