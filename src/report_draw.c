/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/report_draw.c: the report's pictures, drawn with cairo and their text
 * laid out with Pango: bar charts as PNG (embedded in the HTML page) and the
 * whole report as an A4 PDF holding the same charts as vector drawings.
 *
 * A suppressed count (0 < n < k, or hidden to protect one) is drawn as a
 * short hatched band of one fixed width marked "< k" or "hidden", the same
 * for every such count, so that no bar's length tells the number the
 * tables hide.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>

#include "report.h"

#define FONT     "DejaVu Sans"
#define CHART_W  640.0
#define BAR_H    20.0
#define BAR_GAP  8.0
#define TITLE_H  34.0
#define LABEL_W  210.0
#define VALUE_W  70.0
#define HIDDEN_W 36.0
#define PAGE_W   595.0 /* A4 in points */
#define PAGE_H   842.0
#define MARGIN   50.0

/* Draws text at (x, y) (top left), at most width wide (wrapped); returns its height. */
static double text(cairo_t *cr, double x, double y, double width, const char *s, double size,
                   bool bold, bool right)
{
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *font = pango_font_description_new();
    int w, h;
    pango_font_description_set_family(font, FONT);
    pango_font_description_set_absolute_size(font, size * PANGO_SCALE);
    pango_font_description_set_weight(font, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(layout, font);
    pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    if (right) pango_layout_set_alignment(layout, PANGO_ALIGN_RIGHT);
    pango_layout_set_text(layout, s, -1);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout);
    pango_layout_get_size(layout, &w, &h);
    pango_font_description_free(font);
    g_object_unref(layout);
    return (double)h / PANGO_SCALE;
}

static double chart_height(const struct report_chart *c)
{
    size_t n = c->n ? c->n : 1;
    return TITLE_H + (double)n * (BAR_H + BAR_GAP) + 6.0;
}

static void hatch(cairo_t *cr, double x, double y, double w, double h)
{
    double d;
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0.55, 0.55, 0.55);
    cairo_set_line_width(cr, 1.0);
    for (d = -h; d < w; d += 6.0) {
        cairo_move_to(cr, x + d, y + h);
        cairo_line_to(cr, x + d + h, y);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* The chart at the origin, CHART_W wide, chart_height(c) high. */
static void draw_chart(cairo_t *cr, const struct report_chart *c, unsigned k)
{
    double max = 1, bar_w = CHART_W - LABEL_W - VALUE_W - 10.0, y = TITLE_H;
    char shown[32];
    size_t i;

    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, 0, 0, CHART_W, chart_height(c));
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, 0, 6, CHART_W, c->title, 13, true, false);
    for (i = 0; i < c->n; i++)
        if (!c->value[i].suppressed && c->value[i].n > max) max = c->value[i].n;
    if (c->n == 0) {
        cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
        text(cr, 0, y, CHART_W, "nothing was counted in this period", 10, false, false);
        return;
    }
    for (i = 0; i < c->n; i++, y += BAR_H + BAR_GAP) {
        const struct report_count *v = &c->value[i];
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text(cr, 0, y + 3, LABEL_W - 8, c->label[i], 10, false, true);
        if (v->suppressed) {
            hatch(cr, LABEL_W, y, HIDDEN_W, BAR_H); /* one width for all: tells no number */
            if (v->secondary)
                snprintf(shown, sizeof shown, "hidden");
            else
                snprintf(shown, sizeof shown, "< %u", k);
        } else {
            double w = max > 0 ? bar_w * v->n / max : 0;
            cairo_set_source_rgb(cr, 0.16, 0.38, 0.62);
            cairo_rectangle(cr, LABEL_W, y, w > 0 && w < 1.5 ? 1.5 : w, BAR_H);
            cairo_fill(cr);
            snprintf(shown, sizeof shown, "%.0f", v->n);
        }
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text(cr, CHART_W - VALUE_W, y + 3, VALUE_W, shown, 10, true, true);
    }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1.0);
    cairo_move_to(cr, LABEL_W - 0.5, TITLE_H - 2);
    cairo_line_to(cr, LABEL_W - 0.5, y - BAR_GAP + 2);
    cairo_stroke(cr);
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
    struct report_buf *b = closure;
    report_buf_add(b, data, len);
    return b->failed ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* see report.h */
bool report_chart_png(const struct report_chart *c, unsigned k, struct report_buf *png)
{
    const double scale = 2.0; /* sharp on high-density screens */
    int w = (int)(CHART_W * scale), h = (int)ceil(chart_height(c) * scale);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(s);
    bool ok;
    cairo_scale(cr, scale, scale);
    draw_chart(cr, c, k);
    ok = cairo_status(cr) == CAIRO_STATUS_SUCCESS;
    cairo_destroy(cr);
    cairo_surface_flush(s);
    ok = ok && cairo_surface_write_to_png_stream(s, to_buf, png) == CAIRO_STATUS_SUCCESS;
    cairo_surface_destroy(s);
    return ok && !png->failed;
}

struct page {
    cairo_t *cr;
    double y;
    int number;
};

static void footer(struct page *p)
{
    char s[32];
    snprintf(s, sizeof s, "%d", p->number);
    cairo_set_source_rgb(p->cr, 0.4, 0.4, 0.4);
    text(p->cr, MARGIN, PAGE_H - MARGIN + 16, PAGE_W - 2 * MARGIN, s, 8, false, true);
}

/* Starts a new page if fewer than need points are left on this one. */
static void room(struct page *p, double need)
{
    if (p->y + need <= PAGE_H - MARGIN) return;
    footer(p);
    cairo_show_page(p->cr);
    p->number++;
    p->y = MARGIN;
    cairo_set_source_rgb(p->cr, 0.1, 0.1, 0.1); /* the footer's grey stays on its page */
}

/* see report.h */
bool report_pdf(const struct report_block *blocks, size_t n, unsigned k, struct report_buf *pdf)
{
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(to_buf, pdf, PAGE_W, PAGE_H);
    struct page p = {cairo_create(s), MARGIN, 1};
    const double width = PAGE_W - 2 * MARGIN;
    bool ok;
    size_t i;

    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "agepass report");
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "agepass report (cairo)");
    for (i = 0; i < n; i++) {
        const struct report_block *b = &blocks[i];
        cairo_set_source_rgb(p.cr, 0.1, 0.1, 0.1);
        switch (b->kind) {
        case REPORT_H1: p.y += text(p.cr, MARGIN, p.y, width, b->text, 20, true, false) + 8; break;
        case REPORT_H2:
            room(&p, 60);
            p.y += 10;
            p.y += text(p.cr, MARGIN, p.y, width, b->text, 13, true, false) + 4;
            cairo_set_source_rgb(p.cr, 0.16, 0.38, 0.62);
            cairo_rectangle(p.cr, MARGIN, p.y, width, 1.2);
            cairo_fill(p.cr);
            p.y += 6;
            break;
        case REPORT_PARA:
            room(&p, 30);
            p.y += text(p.cr, MARGIN, p.y, width, b->text, 9.5, false, false) + 5;
            break;
        case REPORT_ROW: {
            double h1, h2, h3;
            room(&p, 16);
            h1 = text(p.cr, MARGIN, p.y, 190, b->text, 8.5, false, false);
            h2 = text(p.cr, MARGIN + 195, p.y, 210, b->col2 ? b->col2 : "", 8.5, false, false);
            h3 =
                text(p.cr, MARGIN + 410, p.y, width - 410, b->col3 ? b->col3 : "", 8.5, true, true);
            p.y += fmax(h1, fmax(h2, h3)) + 3;
            break;
        }
        case REPORT_CHART: {
            double scale = width / CHART_W, h = chart_height(b->chart) * scale;
            room(&p, h + 8);
            cairo_save(p.cr);
            cairo_translate(p.cr, MARGIN, p.y);
            cairo_scale(p.cr, scale, scale);
            draw_chart(p.cr, b->chart, k);
            cairo_restore(p.cr);
            p.y += h + 8;
            break;
        }
        }
    }
    footer(&p);
    cairo_show_page(p.cr);
    ok = cairo_status(p.cr) == CAIRO_STATUS_SUCCESS;
    cairo_destroy(p.cr);
    cairo_surface_finish(s);
    ok = ok && cairo_surface_status(s) == CAIRO_STATUS_SUCCESS;
    cairo_surface_destroy(s);
    return ok && !pdf->failed;
}

/* see report.h */
void report_draw_done(void)
{
    /* the font map and fontconfig's caches are process-wide: freed once, at the end */
    pango_cairo_font_map_set_default(NULL);
    cairo_debug_reset_static_data();
    FcFini();
}
