-- Pandoc filter for the HTML report: "Figure N:" before each figure's caption, counted as Typst counts the PDF's
-- figures (captioned images, in order), so the HTML and the PDF name a figure alike.
local count = 0

function Figure(figure)
  count = count + 1
  local label = pandoc.Inlines({ pandoc.Strong({ pandoc.Str("Figure " .. count .. ":") }), pandoc.Space() })
  local blocks = figure.caption.long
  if #blocks > 0 and blocks[1].content then
    blocks[1].content = label .. blocks[1].content
  else
    figure.caption.long = { pandoc.Plain(label) }
  end
  return figure
end
