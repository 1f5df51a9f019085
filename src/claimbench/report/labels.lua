-- Pandoc filter (HTML and PDF): a label before every captioned table and figure, the same in both formats.
-- A caption that opens with a paper's own number in bold ("**Table 2 (paper 000).** ...") rebuilds that paper's
-- table or figure and keeps it. Every other captioned table or figure is the report's own and is numbered here in
-- order, "Table R1.", "Figure R1.", ..., so that its number never reads as one of a paper's. Typst's automatic
-- numbering is switched off in the PDF (render.py), so it adds no "Table 1:" of its own.
local counts = { Table = 0, Figure = 0 }

local function paper_label(blocks)
  local first = blocks[1] and blocks[1].content and blocks[1].content[1]
  return first and first.t == "Strong" and pandoc.utils.stringify(first):match("^%a+ %d+%a? %(paper %d+%)")
end

local function labelled(kind, caption)
  local blocks = caption.long
  if #blocks == 0 or paper_label(blocks) then
    return caption
  end
  counts[kind] = counts[kind] + 1
  local label = pandoc.Inlines({ pandoc.Strong({ pandoc.Str(kind .. " R" .. counts[kind] .. ".") }), pandoc.Space() })
  if blocks[1].content then
    blocks[1].content = label .. blocks[1].content
  else
    blocks:insert(1, pandoc.Plain(label))
  end
  caption.long = blocks
  return caption
end

-- Figures before tables would number them in two passes; one traversal keeps the document's order per kind.
return {
  {
    traverse = "topdown",
    Figure = function(figure)
      figure.caption = labelled("Figure", figure.caption)
      return figure
    end,
    Table = function(tbl)
      tbl.caption = labelled("Table", tbl.caption)
      return tbl
    end,
  },
}
