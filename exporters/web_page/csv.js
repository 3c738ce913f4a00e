// CSV cells for the page's predictions download (a classic script: loaded before app.js, which calls
// csvField; tests load it alone in Node's vm).
//
// csvField(v): one RFC 4180 field; a text cell beginning with = + - @ (or a tab or carriage return)
// gets a leading apostrophe, so a spreadsheet shows it as text instead of running it as a formula
// (OWASP "CSV injection"). A plain number such as -0.25 or 1e-5 is left as it is.
'use strict';

const CSV_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const CSV_FORMULA_START = /^[=+\-@\t\r]/;

function csvField(v) {
  let s = v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? '' : String(v);
  if (CSV_FORMULA_START.test(s) && !CSV_NUMBER.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}
