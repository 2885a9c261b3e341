using System.Security.Cryptography;
using System.Text;
using NpgsqlTypes;
using RoutingData.Consistency;
using Xunit;

namespace RoutingData.Tests.Consistency;

/// <summary>The token's text form with and without a timeline, its signature, and what a malformed one is told.</summary>
public sealed class ConsistencyTokenTests
{
    private const string Key = "0123456789abcdef0123456789abcdef-signing";

    [Theory]
    [InlineData("7712776800228422479:1:0/3016218", 7712776800228422479UL, 1, 0x3016218UL)]
    [InlineData("7712776800228422479:26:1A/FF000028", 7712776800228422479UL, 26, 0x1AFF000028UL)]
    [InlineData("1:2147483647:FFFFFFFF/FFFFFFFF", 1UL, int.MaxValue, ulong.MaxValue)]
    [InlineData("7712776800228422479:0/3016218", 7712776800228422479UL, 0, 0x3016218UL)]
    public void Text_form_round_trips_with_and_without_a_timeline(string text, ulong systemIdentifier, int timeline, ulong lsn)
    {
        Assert.True(ConsistencyToken.TryParse(text, out var token));
        Assert.Equal(new ConsistencyToken(systemIdentifier, timeline, new NpgsqlLogSequenceNumber(lsn)), token);
        Assert.Equal(text, token.ToString());
    }

    [Fact]
    public void A_write_position_below_the_position_travels_as_a_fourth_part()
    {
        Assert.True(ConsistencyToken.TryParse("42:3:0/3016218:0/3015F00", out var token));
        Assert.Equal(new NpgsqlLogSequenceNumber(0x3016218), token.Lsn);
        Assert.Equal(new NpgsqlLogSequenceNumber(0x3015F00), token.WriteLsn);
        Assert.Equal(0x3015F00UL, token.MustSee);
        Assert.Equal("42:3:0/3016218:0/3015F00", token.ToString());

        // Equal to the position, or not told apart: the three-part form, and all of it must be seen.
        Assert.Equal("42:3:0/3016218", (token with { WriteLsn = token.Lsn }).ToString());
        Assert.True(ConsistencyToken.TryParse("42:3:0/3016218", out var whole));
        Assert.Null(whole.WriteLsn);
        Assert.Equal(0x3016218UL, whole.MustSee);

        // A session that never wrote: 0/0.
        Assert.True(ConsistencyToken.TryParse("42:3:0/3016218:0/0", out var readOnly));
        Assert.Equal(0UL, readOnly.MustSee);
    }

    [Fact]
    public void A_signature_covers_the_write_position()
    {
        var codec = new TokenCodec(Encoding.UTF8.GetBytes(Key));
        var token = new ConsistencyToken(42, 3, new NpgsqlLogSequenceNumber(0x3016218)) { WriteLsn = new NpgsqlLogSequenceNumber(0x3015F00) };
        var text = codec.Encode(token);
        Assert.Equal(token, codec.Decode(text, out _));

        // Dropping or changing the write part (making the reads count as written, or the other way round) breaks it.
        var signature = text[text.IndexOf('.', StringComparison.Ordinal)..];
        Assert.Null(codec.Decode("42:3:0/3016218" + signature, out _));
        Assert.Null(codec.Decode("42:3:0/3016218:0/0" + signature, out var problem));
        Assert.Equal("The consistency token's signature does not match.", problem);
    }

    [Fact]
    public void A_token_without_a_timeline_is_written_in_the_older_form()
    {
        var token = new ConsistencyToken(42, new NpgsqlLogSequenceNumber(0x3016218));
        Assert.Equal(0, token.Timeline);
        Assert.Equal("42:0/3016218", token.ToString());
        Assert.Equal("42:3:0/3016218", (token with { Timeline = 3 }).ToString());
    }

    [Theory]
    [InlineData("garbage", "it has no ':'")]
    [InlineData(":1:0/1", "the system identifier '' is not a decimal number")]
    [InlineData("abc:1:0/1", "the system identifier 'abc' is not a decimal number")]
    [InlineData("-5:1:0/1", "the system identifier '-5' is not a decimal number")]
    [InlineData("42:0:0/1", "the timeline '0' is not a number from 1 to 2147483647")]
    [InlineData("42:x:0/1", "the timeline 'x' is not a number from 1")]
    [InlineData("42:-1:0/1", "the timeline '-1' is not a number from 1")]
    [InlineData("42:99999999999:0/1", "the timeline '99999999999' is not a number from 1")]
    [InlineData("42::0/1", "the timeline '' is not a number from 1")]
    [InlineData("42:1:0-1", "the LSN '0-1' is not of the form X/Y")]
    [InlineData("42:1:123456789/1", "the LSN '123456789/1' is not of the form X/Y")]
    [InlineData("42:1:2:0/1", "the LSN '2' is not of the form X/Y")]
    [InlineData("42:1:0/2:0-1", "the write position '0-1' is not of the form X/Y")]
    [InlineData("42:1:0/2:", "the write position '' is not of the form X/Y")]
    [InlineData("42:1:0/2:0/3", "the write position 0/3 is past the LSN 0/2")]
    [InlineData("42:0/G", "the LSN '0/G' is not of the form X/Y")]
    public void A_malformed_token_is_rejected_naming_the_part_that_is_wrong(string text, string problem)
    {
        Assert.False(ConsistencyToken.TryParse(text, out _));

        var decoded = new TokenCodec(null).Decode(text, out var message);
        Assert.Null(decoded);
        Assert.StartsWith("The consistency token is not of the form 'system_identifier:timeline:LSN' (e.g. 7712776800228422479:1:0/3016218): ", message, StringComparison.Ordinal);
        Assert.Contains(problem, message, StringComparison.Ordinal);
    }

    [Fact]
    public void What_a_client_sent_is_quoted_short_and_without_control_characters()
    {
        new TokenCodec(null).Decode("42:1:" + new string('A', 60) + "\u0007/1", out var message);
        Assert.Contains("the LSN 'AAAAAAAAAAAAAAAAAAAAAAAA…'", message, StringComparison.Ordinal);

        new TokenCodec(null).Decode("4\n2:1:0/1", out message);
        Assert.Contains("the system identifier '4?2'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resuming_a_malformed_token_throws_the_typed_exception_with_the_reason()
    {
        // No server is needed to resume a token: only its text is checked here.
        await using var dataSource = new ReplicatedDataSourceBuilder("Host=127.0.0.1:1;Username=app").Build();
        var error = Assert.Throws<ConsistencyTokenException>(() => dataSource.ResumeSession("42:0:0/1"));
        Assert.Contains("the timeline '0' is not a number from 1", error.Message, StringComparison.Ordinal);

        var resumed = dataSource.ResumeSession("42:7:0/3016218");
        Assert.Equal(new ConsistencyToken(42, 7, new NpgsqlLogSequenceNumber(0x3016218)), resumed.Token);
        Assert.Equal(0, dataSource.ResumeSession("42:0/3016218").Token!.Value.Timeline);
    }

    [Fact]
    public void A_signed_token_keeps_its_timeline_and_cannot_be_moved_to_another_one()
    {
        var codec = new TokenCodec(Encoding.UTF8.GetBytes(Key));
        var token = new ConsistencyToken(42, 2, new NpgsqlLogSequenceNumber(0x3016218));
        var exported = codec.Encode(token);
        Assert.StartsWith("42:2:0/3016218.", exported, StringComparison.Ordinal);
        Assert.Equal(token, codec.Decode(exported, out var problem));
        Assert.Null(problem);

        var signature = exported[exported.IndexOf('.', StringComparison.Ordinal)..];
        foreach (var forged in new[] { "42:1:0/3016218" + signature, "42:0/3016218" + signature, "42:3:0/3016218" + signature })
        {
            Assert.Null(codec.Decode(forged, out problem));
            Assert.Equal("The consistency token's signature does not match.", problem);
        }
    }

    [Fact]
    public void A_signed_token_exported_before_timelines_were_carried_still_verifies()
    {
        // As the two-part form was signed: HMAC-SHA256 over the body, 128 bits, base64url without padding.
        const string Body = "7712776800228422479:0/3016218";
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Key), Encoding.ASCII.GetBytes(Body));
        var old = Body + "." + Convert.ToBase64String(mac, 0, 16).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        var codec = new TokenCodec(Encoding.UTF8.GetBytes(Key));
        var decoded = codec.Decode(old, out var problem);
        Assert.Null(problem);
        Assert.Equal(new ConsistencyToken(7712776800228422479, 0, new NpgsqlLogSequenceNumber(0x3016218)), decoded);

        // A token whose timeline is unknown is exported in the same form, with the same signature.
        Assert.Equal(old, codec.Encode(decoded!.Value));
    }
}
