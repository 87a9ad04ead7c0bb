//! The page's inline CSS and its one script (sorting the stock table).

pub(super) const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header,main{max-width:1320px;margin:0 auto;padding:0 24px}
header{padding-top:18px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #d7dbe0;padding-bottom:4px}
h3{font-size:16px;margin:0 0 8px}
summary{cursor:pointer}summary h3{display:inline}
.sub{color:#5a6570}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:14px 16px;margin:12px 0}
.badges span{display:inline-block;margin:4px 6px 0 0;padding:2px 9px;border-radius:10px;background:#e8ecf0}
.badges .bad{background:#fbe3e1;color:#8f1d14;font-weight:600}
.badges .good{background:#e2f3e5;color:#1e6b2b}
table{border-collapse:collapse;margin:6px 0;background:#fff}
th,td{padding:3px 9px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th::after{content:" \2195";color:#9aa4ae}
table.sortable th[data-dir=asc]::after{content:" \2191";color:#1d232a}
table.sortable th[data-dir=desc]::after{content:" \2193";color:#1d232a}
.missing{display:inline-block;padding:0 6px;border-radius:3px;background:#fbe3e1;color:#8f1d14;font-weight:600;border:1px dashed #c0392b}
.stock-grid{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;fill:#1d232a}
svg .small{font-size:10px}
#stage-views{font-size:12px}
#stage-views th,#stage-views td{padding:3px 6px}
code{font-size:12px;background:#eef1f4;padding:0 4px;border-radius:3px}
ul.failures li{margin:2px 0}
"#;

/// Sorts a `table.sortable` by the clicked column: numbers by `data-v`, missing values last.
pub(super) const SCRIPT: &str = r#"
function unfold(){var t=location.hash&&document.getElementById(location.hash.slice(1));
  var d=t&&t.querySelector("details");if(d)d.open=true;}
window.addEventListener("hashchange",unfold);unfold();
document.querySelectorAll("table.sortable").forEach(function(t){
  t.querySelectorAll("th").forEach(function(th,i){
    th.addEventListener("click",function(){
      var asc=th.getAttribute("data-dir")!=="asc";
      t.querySelectorAll("th").forEach(function(h){h.removeAttribute("data-dir")});
      th.setAttribute("data-dir",asc?"asc":"desc");
      var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
      rows.sort(function(x,y){
        var a=x.cells[i].getAttribute("data-v"),c=y.cells[i].getAttribute("data-v");
        a=a===null?x.cells[i].textContent:a;c=c===null?y.cells[i].textContent:c;
        if(a===""||c==="")return (a==="")-(c==="");
        var fa=Number(a),fc=Number(c),r=(isNaN(fa)||isNaN(fc))?a.localeCompare(c):fa-fc;
        return asc?r:-r;
      });
      rows.forEach(function(r){b.appendChild(r)});
    });
  });
});
"#;
