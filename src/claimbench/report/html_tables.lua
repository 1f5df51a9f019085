-- Pandoc filter for the HTML report (after labels.lua): tables laid out by the browser, captions never cut.
-- * Pandoc gives a Markdown table wider than 72 characters fixed relative column widths (from the lengths of its
--   dashes), which squeezes a column of long text into a tall cell; dropped here, the browser sizes every column to
--   its content.
-- * The caption leaves the table for a block above it, and the table sits in a frame of the page's width: a table
--   that cannot fit scrolls inside its frame (which the page's script marks as scrollable, report.js) while its
--   caption stays whole. Inside the table, the caption would scroll away with the columns.
function Table(tbl)
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1], pandoc.ColWidthDefault }
  end
  local blocks = pandoc.Blocks({})
  if #tbl.caption.long > 0 then
    blocks:insert(pandoc.Div(tbl.caption.long, { class = "table-caption" }))
    tbl.caption.long = pandoc.Blocks({})
  end
  blocks:insert(pandoc.Div({ tbl }, { class = "table-frame" }))
  return pandoc.Div(blocks, { class = "table-block" })
end
