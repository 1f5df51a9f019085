-- Pandoc filter for the PDF (Typst) report: tables that fit the page.
-- Pandoc gives a wide Markdown table fixed relative column widths (from the lengths of its dashes), and a long name
-- (a model, a path, an item id) then runs into the next column. Here every column is sized by Typst to its content
-- (auto), and a cell's long words may break after "-", "/", "_" or "." (a zero-width space), so they wrap instead.
local ZWSP = utf8.char(0x200B)

local function wrappable(text)
  if utf8.len(text) > 12 then
    return (text:gsub("([-/_.])", "%1" .. ZWSP))
  end
end

local function breakable(cell)
  cell.contents = pandoc.walk_block(pandoc.Div(cell.contents), {
    Str = function(str)
      local text = wrappable(str.text)
      if text then return pandoc.Str(text) end
    end,
    Code = function(code)
      local text = wrappable(code.text)
      if text then code.text = text; return code end
    end,
  }).content
end

function Table(tbl)
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1], pandoc.ColWidthDefault }
  end
  for _, row in ipairs(tbl.head.rows) do
    for _, cell in ipairs(row.cells) do breakable(cell) end
  end
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      for _, cell in ipairs(row.cells) do breakable(cell) end
    end
  end
  return tbl
end

-- A cell that lists several items (show_table's one_per_line: spans of class "line"): one item per line, as the
-- HTML report shows them (report.css).
function Span(span)
  if span.classes:includes("line") then
    local inlines = pandoc.Inlines(span.content)
    inlines:insert(pandoc.LineBreak())
    return inlines
  end
end
