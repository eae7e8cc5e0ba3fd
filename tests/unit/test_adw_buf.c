/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "adw_buf.h"
#include "testlib.h"

START_TEST(test_append_and_detach)
{
	struct adw_buf b;
	char *s;

	adw_buf_init(&b, 0);
	ck_assert_str_eq(adw_buf_str(&b), "");
	ck_assert_int_eq(adw_buf_adds(&b, "hello"), 0);
	ck_assert_int_eq(adw_buf_addf(&b, " %d %s", 42, "x"), 0);
	ck_assert_str_eq(adw_buf_str(&b), "hello 42 x");
	ck_assert_uint_eq(b.len, 10);
	adw_buf_consume(&b, 6);
	ck_assert_str_eq(adw_buf_str(&b), "42 x");
	s = adw_buf_detach(&b);
	ck_assert_str_eq(s, "42 x");
	ck_assert_ptr_null(b.data);
	free(s);
}
END_TEST

START_TEST(test_cap_releases)
{
	struct adw_buf b;

	adw_buf_init(&b, 8);
	ck_assert_int_eq(adw_buf_adds(&b, "12345678"), 0);
	ck_assert_int_eq(adw_buf_adds(&b, "9"), -1);
	/* Over the cap the buffer is released, never left cut. */
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(adw_buf_str(&b), "");
	adw_buf_release(&b);
}
END_TEST

START_TEST(test_grows_large)
{
	struct adw_buf b;
	char chunk[1000];

	memset(chunk, 'a', sizeof(chunk));
	adw_buf_init(&b, 0);
	for (int i = 0; i < 5000; i++)
		ck_assert_int_eq(adw_buf_add(&b, chunk, sizeof(chunk)), 0);
	ck_assert_uint_eq(b.len, 5000000);
	ck_assert_int_eq(b.data[b.len], '\0');
	adw_buf_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_and_detach);
	tcase_add_test(tc, test_cap_releases);
	tcase_add_test(tc, test_grows_large);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
