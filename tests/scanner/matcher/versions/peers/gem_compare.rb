# Reference for RubyGems: Debian's ruby and its bundled rubygems. Commands, one per stdin
# line (tab-separated):
#   cmp A B      -> Gem::Version.new(A) <=> Gem::Version.new(B)
#   valid V      -> 1 when Gem::Version.correct?(V), else 0
#   req V R1,R2  -> 1/0 Gem::Requirement.new(R1, R2, ...).satisfied_by?(Gem::Version.new(V)); ERR if unreadable
require "rubygems"
$stdout.sync = true
$stdin.each_line do |line|
  f = line.chomp.split("\t", -1)
  answer =
    case f[0]
    when "cmp" then (Gem::Version.new(f[1]) <=> Gem::Version.new(f[2])).to_s
    when "valid" then Gem::Version.correct?(f[1]) ? "1" : "0"
    when "req"
      begin
        Gem::Requirement.new(*f[2].split(",")).satisfied_by?(Gem::Version.new(f[1])) ? "1" : "0"
      rescue ArgumentError, Gem::Requirement::BadRequirementError
        "ERR"
      end
    else "ERR"
    end
  puts answer
end
