/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_buf.c: the wire reader and writer.
 */
#include "agepass/buf.h"
#include "test.h"

int main(void)
{
    static const uint8_t in[] = {0x01, 0x02, 0x03, 0x02, 0xaa, 0xbb, 0x00, 0x01, 0xcc};
    struct agp_reader r;
    struct agp_writer w;
    struct agp_span s;
    uint8_t u8, out[8], big[300], src[256] = {0};
    uint16_t u16;

    agp_reader_init(&r, in, sizeof in);
    EXPECT_OK(agp_read_u8(&r, &u8));
    EXPECT(u8 == 0x01);
    EXPECT_OK(agp_read_u16(&r, &u16));
    EXPECT(u16 == 0x0203);
    EXPECT_OK(agp_read_vec8(&r, 0, 2, &s));
    EXPECT(s.len == 2 && s.ptr[0] == 0xaa && s.ptr[1] == 0xbb);
    EXPECT_ERR(agp_read_end(&r), AGP_ERR_TRAILING);
    EXPECT_OK(agp_read_vec16(&r, 1, 1, &s));
    EXPECT(s.len == 1 && s.ptr[0] == 0xcc);
    EXPECT_OK(agp_read_end(&r));
    EXPECT_ERR(agp_read_u8(&r, &u8), AGP_ERR_TRUNCATED);
    EXPECT_ERR(agp_read_u16(&r, &u16), AGP_ERR_TRUNCATED);
    EXPECT_OK(agp_read_span(&r, 0, &s));

    /* a length outside [min, max] or past the end; the reader does not move */
    agp_reader_init(&r, in + 3, 3); /* 02 aa bb */
    EXPECT_ERR(agp_read_vec8(&r, 0, 1, &s), AGP_ERR_LENGTH);
    EXPECT_ERR(agp_read_vec8(&r, 3, 9, &s), AGP_ERR_LENGTH);
    EXPECT(r.pos == 0);
    agp_reader_init(&r, in + 3, 2); /* 02 aa: one byte short */
    EXPECT_ERR(agp_read_vec8(&r, 0, 32, &s), AGP_ERR_TRUNCATED);
    EXPECT(r.pos == 0);
    agp_reader_init(&r, in, 1); /* u16 from one byte */
    EXPECT_ERR(agp_read_u16(&r, &u16), AGP_ERR_TRUNCATED);
    EXPECT(r.pos == 0);
    agp_reader_init(&r, NULL, 5); /* NULL means empty whatever the length */
    EXPECT_ERR(agp_read_u8(&r, &u8), AGP_ERR_TRUNCATED);
    /* a huge span request cannot wrap around */
    agp_reader_init(&r, in, sizeof in);
    EXPECT_OK(agp_read_u8(&r, &u8));
    EXPECT_ERR(agp_read_span(&r, (size_t)-1, &s), AGP_ERR_TRUNCATED);

    agp_writer_init(&w, out, sizeof out);
    EXPECT_OK(agp_write_u16(&w, 0xbeef));
    EXPECT_OK(agp_write_vec8(&w, in, 2, 32));
    EXPECT(w.len == 5);
    EXPECT(out[0] == 0xbe && out[1] == 0xef && out[2] == 2 && out[3] == 1 && out[4] == 2);
    EXPECT_ERR(agp_write_vec16(&w, in, 2, 32), AGP_ERR_TOO_BIG); /* needs 4, has 3 */
    EXPECT(w.len == 5);
    EXPECT_ERR(agp_write_vec8(&w, in, 2, 1), AGP_ERR_LENGTH);
    EXPECT_OK(agp_write_bytes(&w, in, 3));
    EXPECT_ERR(agp_write_u8(&w, 0), AGP_ERR_TOO_BIG);
    agp_writer_init(&w, big, sizeof big);
    EXPECT_ERR(agp_write_vec8(&w, src, 256, 1000), AGP_ERR_LENGTH);
    EXPECT_OK(agp_write_vec16(&w, src, 256, 1000));
    EXPECT(w.len == 258 && big[0] == 1 && big[1] == 0);
    TEST_END();
}
